// TG and TT interop fault cases, each with its own server process (the Go peer for TG, the TS
// `rpcx serve` for TT; directions from ../support/cases.ts): a frozen server (SIGSTOP) found by
// heartbeats, a server that dies with calls in flight, a server restarted on the same port, and a
// graceful shutdown (SIGTERM) with calls in flight.
import { after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type ClientStatus } from '../../src/client/client.js';
import { RpcxError } from '../../src/errors.js';
import { MessageStatusType, MessageType, type Message } from '../../src/protocol/index.js';
import { TestClients } from '../support/clients.js';
import { TestPeers, caseTest, peerName, peerOf } from '../support/peer.js';
import { freePort, rejectsWith, sleep, until, within, type SleepReply } from '../support/tg.js';

for (const dir of ['TG', 'TT'] as const) describe(`${dir} faults (TS Client -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  const servers = new TestPeers(peerOf(dir));
  const start = servers.start;
  const clients = new TestClients();
  const open = clients.open;

  after(async () => {
    await clients.closeAll();
    await servers.killAll();
  });

  caseTest(dir, 'frozen_peer_detected', async () => {
    const srv = await start();
    const interval = 200;
    const maxWait = 600;
    const c = await open(srv.address, { heartbeat: true, heartbeatIntervalMs: interval, maxWaitForHeartbeatMs: maxWait });
    const statuses: ClientStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
    await sleep(interval * 2); // heartbeats are answered while the server runs
    assert.equal(c.isConnected, true);
    try {
      const pending = [c.call('Echo', 'Sleep', { Ms: 30_000 }), c.call('Echo', 'Sleep', { Ms: 30_000 })];
      await sleep(50);
      await srv.freeze();
      const stopped = Date.now();
      const errors = await within(
        Promise.all(pending.map((p) => rejectsWith(p, 'CONNECTION', 'pending call on a frozen server'))),
        interval + maxWait + 1_500,
        'pending calls on a frozen server',
      );
      const took = Date.now() - stopped;
      assert.ok(took <= interval + maxWait + 400, `detected after ${took} ms (interval ${interval} + maxWait ${maxWait})`);
      assert.ok(took >= maxWait - 50, `not before maxWaitForHeartbeat (${took} ms)`);
      for (const e of errors) assert.match(e.message, /heartbeat/);
      const disc = statuses.find((s) => s.type === 'disconnected');
      assert.ok(disc !== undefined && disc.type === 'disconnected' && disc.error instanceof RpcxError);
    } finally {
      srv.proc.kill('SIGCONT');
    }
    // Once the server runs again, the next call reconnects (as Go's client does).
    assert.deepEqual(await within(c.call('Arith', 'Mul', { A: 4, B: 4 }), 5_000, 'call after SIGCONT'), { C: 16 });
  });

  caseTest(dir, 'server_killed_mid_call', async () => {
    // The 6th non-heartbeat request makes the server exit(3) before it is dispatched.
    const srv = await start({ exitAfter: 6 });
    const c = await open(srv.address);
    const pushes: Message[] = [];
    c.onMessage((m) => pushes.push(m));
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 1, B: 2 }), { C: 2 }); // request 1
    const settled: number[] = [];
    const pending = Array.from({ length: 10 }, (_, i) =>
      // requests 2..5 are sleeping in handlers, 6 kills the server, 7..11 are never read
      rejectsWith(c.call('Echo', 'Sleep', { Ms: 30_000 }), 'CONNECTION', `pending call ${i}`).then((e) => {
        settled.push(Date.now());
        return e;
      }),
    );
    const code = await within(srv.exited, 10_000, 'server exit');
    const exitedAt = Date.now();
    assert.equal(code, 3, 'the server exited via exit-after');
    await within(Promise.all(pending), 1_000, 'every pending call rejects within 1 s');
    const worst = Math.max(...settled) - exitedAt;
    assert.ok(worst < 1_000, `last rejection ${worst} ms after the exit`);
    assert.equal(c.pendingCalls, 0, 'none hangs');
    // As Go does, the push stream gets one synthetic message for the dead connection.
    await until(() => pushes.length > 0, 1_000, 'synthetic disconnect message');
    const m = pushes[0]!;
    assert.equal(m.messageType, MessageType.Request);
    assert.equal(m.messageStatusType, MessageStatusType.Error);
    assert.equal(m.metadata.get('server'), srv.address.slice(srv.address.indexOf('@') + 1));
    assert.ok((m.metadata.get('__rpcx_error__') ?? '').length > 0);
    // The next call fails fast too (nothing listens any more).
    await rejectsWith(within(c.call('Arith', 'Mul', { A: 1, B: 1 }), 5_000, 'call to a dead server'), 'CONNECTION');
  });

  caseTest(dir, 'server_restart_reconnect', async () => {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const first = await start({ addr });
    assert.equal(first.address, `tcp@${addr}`);
    const lazy = await open(first.address); // Go's way: the next call reconnects
    const eager = await open(first.address, { reconnect: { initialDelayMs: 50, maxDelayMs: 200, jitter: 0 } });
    const statuses: ClientStatus['type'][] = [];
    eager.onStatus((s) => statuses.push(s.type));
    assert.deepEqual(await lazy.call('Arith', 'Mul', { A: 2, B: 5 }), { C: 10 });
    assert.deepEqual(await eager.call('Arith', 'Mul', { A: 2, B: 6 }), { C: 12 });

    await first.kill('SIGKILL');
    await until(() => !lazy.isConnected && !eager.isConnected, 2_000, 'both clients saw the close');
    await rejectsWith(lazy.call('Arith', 'Mul', { A: 1, B: 1 }), 'CONNECTION', 'call while the server is down');
    await sleep(300); // the eager client retries meanwhile, with backoff

    const second = await start({ addr });
    assert.equal(second.address, first.address, 'same port');
    assert.deepEqual(await within(lazy.call('Arith', 'Mul', { A: 3, B: 5 }), 5_000, 'call after restart'), { C: 15 });
    await until(() => eager.isConnected, 3_000, 'background reconnect');
    assert.deepEqual(await eager.call('Arith', 'Mul', { A: 3, B: 6 }), { C: 18 });
    assert.ok(statuses.includes('disconnected') && statuses.includes('reconnecting'), statuses.join(','));
    assert.equal(statuses.at(-1), 'connected');
    // Calls really go to the new process: its counter starts from zero.
    const key = `restart-${Date.now()}`;
    assert.equal(Number((await lazy.call<{ Count: number }>('Echo', 'Count', { Key: key })).Count), 1);
  });

  caseTest(dir, 'graceful_shutdown_in_flight', async () => {
    const srv = await start({ shutdownTimeoutMs: 10_000 });
    const c = await open(srv.address);
    const idle = await open(srv.address);
    assert.deepEqual(await idle.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
    const N = 20;
    const sleepMs = 500;
    const calls = Array.from({ length: N }, () => c.call<SleepReply>('Echo', 'Sleep', { Ms: sleepMs }, { timeoutMs: 10_000 }));
    // Requests are read in order: once this one is answered, the sleeps are all in their handlers.
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
    assert.equal(c.pendingCalls, N, 'all in flight');
    const signalled = Date.now();
    srv.proc.kill('SIGTERM');
    const replies = await within(Promise.all(calls), 5_000, 'in-flight calls after SIGTERM');
    for (const r of replies) {
      assert.equal(r.Cancelled, false, 'the handler ran to its end');
      assert.ok(Number(r.SleptMs) >= sleepMs - 1, `slept ${r.SleptMs} ms`);
    }
    assert.ok(Date.now() - signalled < sleepMs + 2_000);
    assert.equal(await within(srv.exited, 5_000, 'server exit after shutdown'), 0, 'a clean exit once the replies are out');
    // Then every connection is closed and nothing listens any more.
    await until(() => !c.isConnected && !idle.isConnected, 2_000, 'connections closed at the end of the shutdown');
    await rejectsWith(within(Client.connect(srv.address), 5_000, 'connect after shutdown'), 'CONNECTION');
  });
});
