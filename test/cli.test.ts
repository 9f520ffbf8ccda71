// The `rpcx` command (src/cli/rpcx.ts) as a user runs it: --version, --help, usage errors.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './support/go.js';
import { tsCli } from './support/peer.js';

function rpcx(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tsCli, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it('rpcx --version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-v']) {
    const r = rpcx(flag);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

it('rpcx --help prints the usage on stdout', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = rpcx(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: rpcx serve \[options\]\n {7}rpcx --version\n/);
    assert.match(r.stdout, /--addr ADDR/);
    assert.match(r.stdout, /\n {7}rpcx call ADDRESS Service\.Method /);
    assert.equal(r.stderr, '');
  }
  // A subcommand's --help is its own usage.
  const serve = rpcx('serve', '--help');
  assert.equal(serve.status, 0, serve.stderr);
  assert.match(serve.stdout, /^usage: rpcx serve \[options\]\n\nrpcx serve runs/);
  assert.match(serve.stdout, /--addr ADDR/);
});

it('unknown commands and options, stray arguments and no command: usage on stderr, exit 2', () => {
  for (const [args, message] of [
    [['bogus'], 'unknown command "bogus"'],
    [[], 'no command'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['serve', '--bogus'], "Unknown option '--bogus'"],
    [['serve', 'extra'], "Unexpected argument 'extra'"],
  ] as const) {
    const r = rpcx(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(`rpcx: ${message}`), r.stderr);
    assert.match(r.stderr, /\nusage: rpcx serve \[options\]\n/);
  }
});
