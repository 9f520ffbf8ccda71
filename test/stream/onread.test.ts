// stream()'s `onread` option (Node's net.connect shape): the echo is read into caller-owned
// buffers, against the Go server peer (TG) and a TS server (TT); the first bytes, pause and
// resume (by the callback's `false` and by `pause()`), abort, and typed errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Client, createXClient, Peer2PeerDiscovery } from '../../src/client/index.js';
import { RpcxError } from '../../src/errors.js';
import { SerializeType } from '../../src/protocol/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import type { StreamOnRead } from '../../src/stream/index.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { requireGo } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { content, echoHandler, sha256hex, writeAllAndEnd } from './support.js';

const MiB = 1024 * 1024;

/** Collects what the onread callback sees: hash and count of the bytes, reads, and every buffer read into. */
class Collector {
  readonly hash = createHash('sha256');
  bytes = 0;
  reads = 0;
  readonly buffers = new Set<Uint8Array>();
  /** The last 8 bytes seen (the echo's count trailer at the end). */
  tail = Buffer.alloc(0);
  onread(buffer: StreamOnRead['buffer'], each?: (n: number) => boolean | void): StreamOnRead {
    return {
      buffer,
      callback: (n, buf) => {
        assert.ok(n > 0 && n <= buf.byteLength, `nread ${n} within the buffer`);
        this.buffers.add(buf);
        const b = buf.subarray(0, n);
        this.hash.update(b);
        this.tail = Buffer.concat([this.tail, b]).subarray(-8);
        this.bytes += n;
        this.reads++;
        return each?.(n);
      },
    };
  }
}

/** Resolves at the stream's 'end', rejects at its 'error'. */
function ended(s: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
}

/** Resolves at the stream's 'error' with the error. */
function errored(s: Duplex): Promise<unknown> {
  return new Promise((resolve) => s.once('error', resolve));
}

/** Polls `cond` every millisecond until it holds (at most 20 s); no fixed sleeps. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!cond() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** Echoes `size` bytes through a stream read with `onread`; checks every byte and the count trailer. */
async function echoCheck(open: (o: StreamOnRead) => Promise<Duplex>, size: number, buffer: StreamOnRead['buffer']): Promise<Collector> {
  const col = new Collector();
  const s = await open(col.onread(buffer));
  const done = ended(s);
  await writeAllAndEnd(s, content(size));
  await done;
  s.destroy();
  // The trailer hash: echo then 8 bytes of count.
  const want = createHash('sha256').update(content(size));
  const tr = Buffer.alloc(8);
  tr.writeBigUInt64BE(BigInt(size));
  assert.equal(col.bytes, size + 8, 'echo plus the 8-byte count trailer');
  assert.equal(col.hash.digest('hex'), want.update(tr).digest('hex'), 'every byte, in order');
  assert.equal(col.tail.readBigUInt64BE(0), BigInt(size), 'count trailer');
  return col;
}

function suite(dir: 'TG' | 'TT', start: () => Promise<{ key: string; stop: () => Promise<void> }>): void {
  describe(`${dir} stream() with onread`, () => {
    let key: string;
    let stop: (() => Promise<void>) | undefined;
    const skip = dir === 'TG' && !goReady();
    before(async () => {
      if (skip) return;
      ({ key, stop } = await start());
    });
    after(async () => {
      await stop?.();
    });
    const need = (t: TestContext): boolean => (dir === 'TG' ? requireGo(t, ['server']) : true);

    test(`${dir} echo read into one reused buffer (Client, 1000 B and 1 MiB buffers)`, async (t) => {
      if (!need(t)) return;
      const c = new Client(key);
      try {
        for (const [size, bufSize] of [[4 * MiB, 1000], [16 * MiB, MiB]] as const) {
          const buf = Buffer.alloc(bufSize);
          const col = await echoCheck((onread) => c.stream({ case: 'onread' }, { onread }), size, buf);
          assert.deepEqual([...col.buffers], [buf], 'every read went into the one buffer');
          assert.ok(col.reads >= Math.ceil((size + 8) / bufSize), 'no read larger than the buffer');
        }
      } finally {
        await c.close();
      }
    });

    test(`${dir} echo read into a rotating pool (XClient, JSON token call, buffer function)`, async (t) => {
      if (!need(t)) return;
      const x = createXClient('_streamservice', { discovery: new Peer2PeerDiscovery(key), serializeType: SerializeType.JSON });
      try {
        const pool = [new Uint8Array(4096), new Uint8Array(70_000), new Uint8Array(1)];
        let next = 0;
        const col = await echoCheck((onread) => x.stream(undefined, { onread }), 2 * MiB, () => pool[next++ % pool.length]!);
        assert.equal(col.buffers.size, pool.length, 'reads went into every buffer of the pool');
        for (const b of col.buffers) assert.ok(pool.some((p) => p === b));
      } finally {
        await x.close();
      }
    });

    test(`${dir} pause by returning false, and by pause(); resume() reads on; nothing lost`, async (t) => {
      if (!need(t)) return;
      const c = new Client(key);
      try {
        // More than the kernel buffers of both connections' ends hold (Go's server splices
        // through a 1 MiB pipe as well), so the writer must block while we do not read.
        const size = 32 * MiB;
        let stopAt = 1; // return false on the first read
        const col = new Collector();
        const s = await c.stream(undefined, { onread: col.onread(Buffer.alloc(64 * 1024), () => col.reads !== stopAt) });
        const done = ended(s);
        const writing = writeAllAndEnd(s, content(size));
        await until(() => col.reads === 1, 'the first read');
        // Paused: the server's echo and then our writes back up (TCP flow control): our write
        // buffer fills while no read callback runs.
        await until(() => s.writableLength > 0 || s.writableEnded, 'our writes to back up');
        const readsWhilePaused = col.reads;
        await until(() => s.writableNeedDrain, 'the write buffer over its high-water mark');
        assert.equal(col.reads, readsWhilePaused, 'no read while paused');
        stopAt = -1;
        s.resume();
        await until(() => col.bytes > 2 * MiB, 'reading again after resume()');
        // pause() from outside stops the reads as well.
        s.pause();
        const at = col.reads;
        await until(() => s.writableNeedDrain || s.writableEnded, 'the writes to back up again');
        assert.ok(col.reads <= at + 1, 'at most the read in flight after pause()');
        s.resume();
        await writing;
        await done;
        s.destroy();
        const tr = Buffer.alloc(8);
        tr.writeBigUInt64BE(BigInt(size));
        assert.equal(col.bytes, size + 8);
        assert.equal(col.hash.digest('hex'), createHash('sha256').update(content(size)).update(tr).digest('hex'));
      } finally {
        await c.close();
      }
    });

    test(`${dir} abort mid-stream: CANCELLED, no read after the close`, async (t) => {
      if (!need(t)) return;
      const c = new Client(key);
      try {
        const ac = new AbortController();
        let afterClose = 0;
        let closed = false;
        const s = await c.stream(undefined, {
          signal: ac.signal,
          onread: {
            buffer: Buffer.alloc(16 * 1024),
            callback: () => {
              if (closed) afterClose++;
              ac.abort();
            },
          },
        });
        const err = errored(s);
        s.once('close', () => (closed = true));
        s.write(content(MiB));
        const e = await err;
        assert.ok(e instanceof RpcxError && e.code === 'CANCELLED', `CANCELLED, got ${String(e)}`);
        await until(() => closed, 'close');
        assert.equal(afterClose, 0);
      } finally {
        await c.close();
      }
    });

    test(`${dir} a throwing callback destroys the stream with a typed error`, async (t) => {
      if (!need(t)) return;
      const c = new Client(key);
      try {
        const boom = new Error('boom');
        const s = await c.stream(undefined, {
          onread: {
            buffer: Buffer.alloc(1024),
            callback: () => {
              throw boom;
            },
          },
        });
        const err = errored(s);
        s.write(content(4096));
        const e = await err;
        assert.ok(e instanceof RpcxError && e.code === 'INTERNAL', `INTERNAL, got ${String(e)}`);
        assert.equal(e.cause, boom);
        assert.match(e.message, /boom/);
      } finally {
        await c.close();
      }
    });
  });
}

suite('TG', async () => {
  const go: GoServer = await startGoServer(['-stream']);
  return { key: go.address, stop: async () => void (await go.kill()) };
});

suite('TT', async () => {
  const server = createServer();
  await server.enableStreamService((s) => echoHandler(s));
  const key = await server.serve('tcp', '127.0.0.1:0');
  return { key, stop: () => server.close() };
});

describe('TT stream() with onread: the first bytes and bad options', () => {
  let server: RpcxServer;
  let key: string;
  const greeting = content(100_000);
  before(async () => {
    server = createServer();
    // The server writes first, as soon as it has the token, then echoes.
    await server.enableStreamService((s) => {
      s.write(greeting);
      echoHandler(s);
    });
    key = await server.serve('tcp', '127.0.0.1:0');
  });
  after(async () => {
    await server.close();
  });

  test('bytes the server sends right after the token reach the callback, before and after stream() resolves', async () => {
    const c = new Client(key);
    try {
      const col = new Collector();
      const s = await c.stream(undefined, { onread: col.onread(Buffer.alloc(7)) });
      const done = ended(s);
      const data = content(MiB + 3);
      await writeAllAndEnd(s, data);
      await done;
      s.destroy();
      const tr = Buffer.alloc(8);
      tr.writeBigUInt64BE(BigInt(data.length));
      assert.equal(col.bytes, greeting.length + data.length + 8);
      assert.equal(col.hash.digest('hex'), createHash('sha256').update(greeting).update(data).update(tr).digest('hex'));
      assert.equal(sha256hex(greeting), sha256hex(content(100_000)));
    } finally {
      await c.close();
    }
  });

  test('a malformed onread is INVALID_ARGUMENT before any call; a bad buffer function fails the stream', async () => {
    const c = new Client(key);
    try {
      const bad: unknown[] = [
        { buffer: Buffer.alloc(0), callback: () => true },
        { buffer: 'x', callback: () => true },
        { buffer: Buffer.alloc(8) },
        null,
      ];
      for (const onread of bad) {
        await assert.rejects(
          c.stream(undefined, { onread: onread as StreamOnRead }),
          (e: unknown) => e instanceof RpcxError && e.code === 'INVALID_ARGUMENT',
          JSON.stringify(onread),
        );
      }
      // The first buffer is asked for while dialing: a bad one rejects stream().
      await assert.rejects(
        c.stream(undefined, { onread: { buffer: () => 'no' as unknown as Uint8Array, callback: () => true } }),
        (e: unknown) => e instanceof RpcxError && e.code === 'INVALID_ARGUMENT',
      );
      // A later one destroys the stream (or fails stream() if the greeting's first read comes
      // before the token write's callback).
      let calls = 0;
      const e = await c
        .stream(undefined, { onread: { buffer: () => (calls++ === 0 ? new Uint8Array(64) : new Uint8Array(0)), callback: () => true } })
        .then(errored, (err: unknown) => err);
      assert.ok(calls >= 2, 'a buffer was asked for after a read');
      assert.ok(e instanceof RpcxError && e.code === 'INVALID_ARGUMENT', `INVALID_ARGUMENT, got ${String(e)}`);
    } finally {
      await c.close();
    }
  });
});
