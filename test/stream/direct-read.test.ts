// The caller's side of a message stream reads through `onread` (a DirectReader: one reused
// 64 KiB buffer, a copy per read) and socketTransport's direct iterator. These tests drive it
// with exact bytes from a plain TCP peer: frames split across reads, a frame larger than the read
// buffer, values kept past later reads, a truncated frame, a reset, an abort with messages still
// buffered, and backpressure (a stalled consumer pauses the reads, TCP stops the writer).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import type { Codec } from '../../src/codec/types.js';
import { createMessage, encodeMessage, MessageType } from '../../src/protocol/index.js';
import { DirectReader, registerDirectReader } from '../../src/node/direct-read.js';
import { MessageChannel } from '../../src/stream/message-stream.js';
import { socketTransport } from '../../src/stream/transport.js';

/** Values are the payload bytes as they arrive (a view: the strictest test of buffer reuse). */
const raw: Codec = { serializeType: 0, name: 'raw', encode: (v) => v as Uint8Array, decode: (b) => b };

function frame(seq: number, payload: Uint8Array): Uint8Array {
  return encodeMessage(createMessage({ messageType: MessageType.Response, seq: BigInt(seq), servicePath: 'P', serviceMethod: 'M', payload }));
}

/** Payload `i`: `size` bytes, every byte (i * 31 + k) & 255, so a mix-up or an overwrite shows. */
function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k) & 255;
  return b;
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A TCP peer and a caller's channel reading it through a DirectReader, as `openStream` sets it up. */
async function pair(): Promise<{ peer: Socket; ch: MessageChannel<Uint8Array, Uint8Array>; sock: Socket }> {
  const server = createServer({ allowHalfOpen: true });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const reader = new DirectReader();
  const sock = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true, noDelay: true, onread: reader.onread });
  registerDirectReader(sock, reader);
  sockets.push(sock);
  await once(sock, 'connect');
  const [peer] = await accepted;
  sockets.push(peer);
  peer.on('error', () => {}); // the caller's abort resets it
  peer.setNoDelay(true);
  const ch = new MessageChannel<Uint8Array, Uint8Array>(socketTransport(sock), 'client', 'P', 'M', raw);
  return { peer, ch, sock };
}

/** Writes `bytes` in pieces of the given sizes (cycled), each in its own event-loop turn. */
async function writeInPieces(s: Socket, bytes: Uint8Array, sizes: readonly number[]): Promise<void> {
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    if (!s.write(bytes.subarray(off, off + n))) await once(s, 'drain');
    off += n;
    await new Promise((r) => setImmediate(r));
  }
}

describe('message streams: the direct (onread) read path', () => {
  test('frames split across reads, one over the 64 KiB read buffer; every value intact after later reads', async () => {
    const { peer, ch } = await pair();
    const sizes = [0, 1, 100, 4096, 65_535, 65_536, 1024 * 1024 + 3, 100, 7];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) frames.push(frame(i + 1, payload(i, sizes[i % sizes.length]!)));
    const all = Buffer.concat(frames);
    const writing = writeInPieces(peer, all, [1, 15, 16, 17, 999, 70_000, 3]).then(() => peer.end());
    const got: Uint8Array[] = [];
    for await (const v of ch) got.push(v); // kept, not checked at once: later reads must not overwrite them
    await writing;
    assert.equal(got.length, 200);
    for (let i = 0; i < 200; i++) assert.ok(Buffer.from(got[i]!).equals(payload(i, sizes[i % sizes.length]!)), `message ${i}`);
  });

  test('a truncated frame at the end is PROTOCOL; a reset is CONNECTION', async () => {
    const a = await pair();
    const f = frame(1, payload(1, 500));
    a.peer.end(Buffer.concat([frame(0, payload(0, 10)), f.subarray(0, 300)]));
    const it = a.ch[Symbol.asyncIterator]();
    assert.equal((await it.next()).value.length, 10);
    await assert.rejects(it.next(), (e: RpcxError) => e.code === ErrorCode.PROTOCOL && /truncated frame at end of stream \(300 bytes\)/.test(e.message));

    const b = await pair();
    b.peer.write(frame(0, payload(0, 10)));
    const it2 = b.ch[Symbol.asyncIterator]();
    assert.equal((await it2.next()).value.length, 10);
    b.peer.resetAndDestroy();
    await assert.rejects(it2.next(), (e: RpcxError) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION);
  });

  test('abort with messages still buffered: the next read is CANCELLED at once', async () => {
    const { peer, ch } = await pair();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) frames.push(frame(i + 1, payload(i, 100)));
    peer.write(Buffer.concat(frames));
    const it = ch[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    ch.abort(new RpcxError(ErrorCode.CANCELLED, 'stop'));
    await assert.rejects(it.next(), (e: RpcxError) => e.code === ErrorCode.CANCELLED && e.message === 'stop');
    assert.equal((await it.next()).done, true);
  });

  test('backpressure: a stalled consumer stops the reads and the writer; nothing lost on resume', async () => {
    const { peer, ch } = await pair();
    const N = 8192; // 4 KiB each: 32 MiB
    const it = ch[Symbol.asyncIterator]();
    let written = 0;
    let blocked = false;
    const writing = (async () => {
      for (let i = 0; i < N; i++) {
        written++;
        if (!peer.write(frame(i + 1, payload(i, 4096)))) {
          blocked = true;
          await once(peer, 'drain');
        }
      }
      peer.end();
    })();
    assert.equal((await it.next()).value.length, 4096);
    // Stall: wait until the writer is held back and what the kernel took stops growing.
    const accepted = (): number => peer.bytesWritten - peer.writableLength;
    let last = -1;
    for (let stable = 0, i = 0; stable < 3; i++) {
      assert.ok(i < 400, 'the writer never settled');
      await new Promise((r) => setTimeout(r, 25));
      const now = accepted();
      stable = blocked && now === last ? stable + 1 : 0;
      last = now;
    }
    assert.ok(last < 16 * 1024 * 1024, `the kernel took ${last} of ${N * 4096} bytes while the consumer stalled`);
    assert.ok(written < N, 'the writer was held back');
    let n = 1;
    for (let r = await it.next(); r.done !== true; r = await it.next()) {
      if (n % 509 === 0) assert.ok(Buffer.from(r.value).equals(payload(n, 4096)), `message ${n}`);
      n++;
    }
    assert.equal(n, N);
    await writing;
  });
});
