// The README's Go programs are complete and work when pasted: each ```go block is a file in
// interop/go/cmd/readme-*, which npm test builds with Go and runs against the TS server started
// as `npm start` starts it (`rpcx serve`, here on a free port).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBinary, goDir, repoRoot, requireGo } from './support/go.js';
import { startServerProcess, type ServerProcess } from './support/go-server.js';
import { tsCli } from './support/peer.js';

const programs = ['readme-client', 'readme-push'] as const;

it('the README Go blocks are interop/go/cmd/readme-client and readme-push', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```go\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.deepEqual(
    blocks,
    programs.map((p) => readFileSync(join(goDir, 'cmd', p, 'main.go'), 'utf8')),
  );
});

describe('the README Go programs against `npm start`', { timeout: 60_000 }, () => {
  let server: ServerProcess | undefined;

  before(async () => {
    server = await startServerProcess('rpcx serve', process.execPath, [tsCli, 'serve', '--addr', '127.0.0.1:0'], repoRoot);
  });

  after(async () => {
    await server?.kill('SIGTERM');
  });

  const run = async (name: string): Promise<string[]> => {
    const hostPort = server!.address.replace(/^tcp@/, '');
    const { stdout } = await promisify(execFile)(goBinary(name), ['-addr', hostPort], { timeout: 20_000 });
    return stdout.trim().split('\n');
  };

  it('readme-client calls Arith.Mul', async (t) => {
    if (!requireGo(t, ['readme-client'])) return;
    assert.deepEqual(await run('readme-client'), ['Arith.Mul: 200']);
  });

  it('readme-push receives the three pushes', async (t) => {
    if (!requireGo(t, ['readme-push'])) return;
    assert.deepEqual(await run('readme-push'), ['news.tick: hello 0', 'news.tick: hello 1', 'news.tick: hello 2']);
  });
});
