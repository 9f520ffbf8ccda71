// The bidirectional examples (issue 13) run as a user runs them (`node build/examples/<name>.js`),
// each self-contained on loopback; the Watch example also serves the Go client's watch_long_poll
// case (interop case 80, GT).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { goBinary, goDir, repoRoot, requireGo } from '../support/go.js';
import { runExample } from '../support/examples.js';

describe('bidirectional examples', { timeout: 90_000 }, () => {
  it('notify-user: a push to a user id reaches all and only that user\'s connections', async () => {
    const r = await runExample('notify-user');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'pushed to alice: 2 connection(s)',
      'alice/laptop got Thermostat.Alert: living room at 31°C',
      'alice/phone got Thermostat.Alert: living room at 31°C',
      'bob/phone got Door.Opened: front door',
      "alice's connections after her phone left: 1",
    ]);
  });

  it('login-server-state: login state lives on the connection', async () => {
    const r = await runExample('login-server-state');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'alice before login: error: not logged in',
      'alice login: "ok"',
      'alice after login: ["/home/alice/notes.txt","/home/alice/todo.txt"]',
      'mallory (other connection): error: not logged in',
      'mallory wrong password: error: wrong password',
      'alice logout: "bye"',
      'alice after logout: error: not logged in',
    ]);
  });

  it('watch-server: a blocking Watch released by another client\'s Set, then a timeout', async () => {
    const r = await runExample('watch-server');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'watch is waiting',
      'watch released: {"Value":"on","Version":1,"Changed":true}',
      'nothing changed: {"Value":"on","Version":1,"Changed":false}',
    ]);
  });

  it('watch-server --serve: the Go client\'s watch_long_poll case passes against it (GT)', async (t) => {
    if (!requireGo(t, ['client'])) return;
    const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'build', 'examples', 'watch-server.js'), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const first = await lines.next();
      const address = String(first.value);
      assert.match(address, /^tcp@127\.0\.0\.1:\d+$/);
      const go = spawn(goBinary('client'), ['-addr', address, '-case', 'watch_long_poll', '-timeout', '25s'], { cwd: goDir, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      go.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((resolve) => go.on('close', resolve));
      assert.equal(code, 0, out);
      const res = JSON.parse(out.trim()) as { case: string; ok: boolean; skipped?: string; error?: string };
      assert.equal(res.case, 'watch_long_poll');
      assert.equal(res.skipped, undefined);
      assert.ok(res.ok, `${res.error} (${out})`);
    } finally {
      child.kill();
    }
  });

  it('reverse-rpc: the provider dials out, the caller gets a client per connection, a broken link is redialled', async () => {
    const r = await runExample('reverse-rpc');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^caller listening on tcp@127\.0\.0\.1:\d+$/);
    assert.deepEqual(r.lines.slice(1), ['provider dialled in (connection 1): {"Celsius":21.5}', 'provider dialled in (connection 2): {"Celsius":21.5}']);
  });

  it('symmetric-calls: calls both ways over one connection, nested, a push, and a reconnect', async () => {
    const r = await runExample('symmetric-calls');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'client -> server: bought tea',
      'server -> client: budget 25',
      'server -> client -> server: budget after paying 15',
      'push: News.Sale',
      'after reconnect, server -> client: budget 15',
    ]);
  });
});
