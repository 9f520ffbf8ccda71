// The README's quick start: `npx rpcx call tcp@127.0.0.1:8972 Arith.Mul '{"A":6,"B":7}'` against the
// server `npm start` runs (its `start` script, run as package.json writes it, on the default
// address 127.0.0.1:8972) prints `{"C":42}`. The command line is taken from the README verbatim.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './support/go.js';
import { startServerProcess } from './support/go-server.js';

/** Whether 127.0.0.1:port can be bound now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

it('README: npx rpcx call tcp@127.0.0.1:8972 Arith.Mul against npm start prints {"C":42}', { timeout: 90_000 }, async () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = /^(npx rpcx call tcp@127\.0\.0\.1:8972 .*)\n# (.*)$/m.exec(readme);
  assert.ok(m, 'the README shows an npx rpcx call line followed by its output');
  const [, command, expected] = m;
  assert.equal(command, `npx rpcx call tcp@127.0.0.1:8972 Arith.Mul '{"A":6,"B":7}'`);
  assert.equal(expected, '{"C":42}');

  // `npm start` without its prestart build (the tests run on a build already): the start script itself.
  const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = scripts.start!.split(' ');
  assert.equal(node, 'node');
  // 8972 is the README's port; another `npm start` on this machine may hold it for a while.
  for (let i = 0; i < 60 && !(await portFree(8972)); i++) await new Promise((r) => setTimeout(r, 500));
  assert.ok(await portFree(8972), '127.0.0.1:8972 stayed busy for 30 s: something else is serving there');
  const { RPCX_ADDR: _, ...env } = process.env;
  const server = await startServerProcess('npm start', process.execPath, [...args, '--quiet'], repoRoot);
  try {
    assert.equal(server.address, 'tcp@127.0.0.1:8972');
    const { stdout, stderr } = await promisify(execFile)('sh', ['-c', command], { cwd: repoRoot, env, timeout: 60_000 });
    assert.equal(stdout, `${expected}\n`, stderr);
  } finally {
    await server.kill('SIGTERM');
  }
});
