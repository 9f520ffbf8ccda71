// TG and TT interop cases (Go peer for TG, TS `rpcx serve` for TT; directions from
// ../support/cases.ts) over other transports: a unix socket and TLS with a test CA made by `openssl`
// at test time (no openssl: the TLS case skips loudly, since Node cannot sign X.509 itself).
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { SerializeType, type Message } from '../../src/protocol/index.js';
import { makeTestPki } from '../support/tls.js';
import { caseTest, peerName, peerOf, startPeerServer, type PeerServer } from '../support/peer.js';
import { rejectsWith, pushIndex, sleep, within, type PushArgs } from '../support/tg.js';

/** The basics every transport must carry: codecs, raw bytes, errors, pushes, heartbeats. */
async function basics(c: Client): Promise<void> {
  assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
  assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }, { serializeType: SerializeType.JSON }), { C: 42 });
  const big = randomBytes(1024 * 1024);
  const echoed = await c.call<Uint8Array>('Echo', 'Bytes', big, { serializeType: SerializeType.SerializeNone, timeoutMs: 10_000 });
  assert.ok(Buffer.from(echoed).equals(big), '1 MiB raw payload intact');
  const err = await rejectsWith(c.call('Arith', 'Div', { A: 1, B: 0 }), 'SERVICE');
  assert.equal(err.message, 'divide by zero');
  assert.deepEqual((err as ServiceError).reply, { C: -1 });
  const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { k: 'v' } });
  assert.equal(metadata.get('k'), 'v');
  const pushes: Message[] = [];
  c.onMessage((m) => pushes.push(m));
  const r = await c.call<{ Sent: number }>('Push', 'Start', { Path: 'T', Method: 'P', Metadata: { a: 'b' }, Payload: new Uint8Array([9]), Count: 3, BeforeReply: true } satisfies PushArgs);
  assert.equal(r.Sent, 3);
  assert.deepEqual(pushes.map((m) => pushIndex(m.payload)), [0, 1, 2]);
  assert.equal(pushes[0]!.metadata.get('a'), 'b');
  const calls = await Promise.all(Array.from({ length: 100 }, (_, i) => c.call<{ C: number }>('Arith', 'Add', { A: i, B: 1 })));
  calls.forEach((reply, i) => assert.equal(reply.C, i + 1));
}

for (const dir of ['TG', 'TT'] as const) describe(`${dir} transports (TS Client -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  const servers: PeerServer[] = [];
  const clients: Client[] = [];
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), `rpcx-${dir.toLowerCase()}-`));
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await Promise.all(servers.map((s) => s.kill()));
    rmSync(tmp, { recursive: true, force: true });
  });

  caseTest(dir, 'unix_socket', async (t) => {
    const path = join(tmp, 'rpcx.sock');
    const srv = await startPeerServer(peerOf(dir), { unixPath: path });
    servers.push(srv);
    assert.equal(srv.address, `unix@${path}`);
    const c = await Client.connect(srv.address, { heartbeat: true, heartbeatIntervalMs: 100 });
    clients.push(c);
    await basics(c);
    await sleep(250);
    assert.equal(c.isConnected, true, 'heartbeats answered over the unix socket');
    // A missing socket file is a CONNECTION error.
    await rejectsWith(Client.connect(`unix@${join(tmp, 'missing.sock')}`), 'CONNECTION');
  });

  caseTest(dir, 'tls', async (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) {
      const banner = '!'.repeat(78);
      console.warn(`${banner}\nopenssl not found: SKIPPING "${dir} tls" (Node cannot sign a test certificate itself).\n${banner}`);
      t.skip('openssl not found');
      return;
    }
    const { ca, cert, key } = makeTestPki(tmp);
    const srv = await startPeerServer(peerOf(dir), { tls: { cert, key } });
    servers.push(srv);
    const caPem = readFileSync(ca);
    const c = await Client.connect(srv.address, { tls: { ca: caPem }, heartbeat: true, heartbeatIntervalMs: 100 });
    clients.push(c);
    await basics(c);
    await sleep(250);
    assert.equal(c.isConnected, true, 'heartbeats answered over TLS');
    // By host name too (the certificate names localhost as well).
    const byName = await Client.connect(srv.address.replace('127.0.0.1', 'localhost'), { tls: { ca: caPem } });
    clients.push(byName);
    assert.deepEqual(await byName.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
    // Without the test CA the certificate is refused: a CONNECTION error, not a hang.
    await rejectsWith(within(Client.connect(srv.address, { tls: {} }), 5_000, 'untrusted'), 'CONNECTION', 'unknown CA');
    await rejectsWith(within(Client.connect(srv.address, { tls: { ca: caPem, servername: 'other.example' } }), 5_000, 'bad name'), 'CONNECTION', 'wrong name');
    // A plain client against the TLS port fails rather than hanging.
    const plain = new Client(srv.address, { connectTimeoutMs: 2_000 });
    clients.push(plain);
    await rejectsWith(within(plain.call('Arith', 'Mul', { A: 1, B: 1 }, { timeoutMs: 2_000 }), 5_000, 'plain to TLS'), plainFailureCode);
  });
});

// A plaintext rpcx frame to a TLS server: Go's TLS layer answers with an alert and closes.
const plainFailureCode = 'CONNECTION';

