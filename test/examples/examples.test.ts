// STYLE.md 13: the examples in examples/ run. Each is started as its own process, the way a user
// runs it (`node build/examples/<name>.js <address>`), against the Go rpcx server peer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady } from '../support/tg.js';
import { runExample } from '../support/examples.js';

describe('examples run against the Go server peer', { timeout: 60_000 }, () => {
  let go: GoServer | undefined;
  let authGo: GoServer | undefined;

  before(async () => {
    if (!goReady()) return;
    [go, authGo] = await Promise.all([startGoServer(), startGoServer(['-auth', 'secret-token'])]);
  });

  after(async () => {
    await Promise.all([go?.kill(), authGo?.kill()]);
  });

  it('example bidirectional-notifications', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('bidirectional-notifications', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^subscribed/);
    assert.deepEqual(r.lines.slice(1), [0, 1, 2, 3, 4].map((i) => `IoT.Temperature from sensor-1: ${i}`));
  });

  it('example xclient (two Go servers: round robin, proxy, inform)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const second = await startGoServer();
    try {
      const r = await runExample('xclient', [go!.address, second.address]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, ['{ C: 42 }', '42', '[ 42, 42 ]']);
    } finally {
      await second.kill();
    }
  });

  it('example telemetry (one trace through a TS front to the Go server; Prometheus counts)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('telemetry', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      '{ C: 42 }',
      'rpcx.client.Front.Mul',
      '  rpcx.service.Front.Mul',
      '    rpcx.client.Arith.Mul',
      'rpcx_server_handled_total{rpcx_service="Front",rpcx_method="Mul",rpcx_code="OK"} 1',
    ]);
  });

  it('example async-calls', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('async-calls', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0], '5 calls in flight, 5 pending');
    const body = r.lines.slice(1, 6);
    assert.ok(body.includes('Arith.Mul({"A":6,"B":7}) = {"C":42}'), r.stdout);
    assert.ok(body.includes('Arith.Div({"A":1,"B":0}) failed: SERVICE divide by zero'), r.stdout);
    assert.ok(body.some((l) => l.startsWith('Echo.Sleep({"Ms":5000}) failed: TIMEOUT')), r.stdout);
    // Completion order: the 100 ms sleep before the 300 ms one.
    const i100 = body.findIndex((l) => l.startsWith('Echo.Sleep({"Ms":100}) ='));
    const i300 = body.findIndex((l) => l.startsWith('Echo.Sleep({"Ms":300}) ='));
    assert.ok(i100 >= 0 && i300 > i100, r.stdout);
    assert.equal(r.lines[6], 'all done: 3 ok, 2 failed');
  });

  it('example watch-long-poll', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('watch-long-poll', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    const watchLines = r.lines.filter((l) => l.startsWith('watch'));
    assert.match(watchLines[0]!, /^watching watch-demo-\S+, value 0$/);
    assert.deepEqual(watchLines.slice(1), ['watch returned: value 1', 'watch returned: value 2', 'watch with no change: TIMEOUT', 'watch after abort: CANCELLED']);
    assert.equal(r.lines.filter((l) => l.startsWith('writer: changed')).length, 2);
  });

  it('example login-state', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const ok = await runExample('login-state', [authGo!.address, 'secret-token']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.lines, ['logged in: server saw __AUTH=secret-token session=alice-1', 'authenticated call: 42']);
    const refused = await runExample('login-state', [authGo!.address, 'wrong']);
    assert.equal(refused.code, 0, refused.stderr);
    assert.deepEqual(refused.lines, ['login refused: invalid token', 'connection open after refusal: false']);
    // A server without an AuthFunc lets any token through (and shows it).
    const open = await runExample('login-state', [go!.address, 'anything']);
    assert.equal(open.lines[0], 'logged in: server saw __AUTH=anything session=alice-1');
  });
});
