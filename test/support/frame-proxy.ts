// A loopback TCP proxy that forwards bytes unchanged and records every rpcx frame in both
// directions, for tests that must see the wire: the compress bit, heartbeat echo bytes, whether a
// reply was written at all, reply order. Frames are split by the 16-byte prefix and decoded with
// the library's decoder (no length limit); a stream that is not rpcx is recorded as raw chunks.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Buffer } from 'node:buffer';
import { decodeMessage, type Message } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';

export type Direction = 'c2s' | 's2c';

export interface RecordedFrame {
  dir: Direction;
  /** Index of the proxied connection (0 = first accepted). */
  conn: number;
  /** The whole frame as it crossed the wire (payload still compressed). */
  bytes: Buffer;
  /** The frame decoded (payload decompressed; `compressType` is the wire's). */
  msg: Message;
}

export interface FrameProxy {
  /** `tcp@127.0.0.1:PORT` of the proxy. */
  address: string;
  frames: RecordedFrame[];
  /** Frames of one direction, optionally filtered. */
  select(dir: Direction, pred?: (f: RecordedFrame) => boolean): RecordedFrame[];
  /** Resolves once a matching frame was recorded (rejects after `timeoutMs`, default 5 s). */
  waitFor(dir: Direction, pred: (f: RecordedFrame) => boolean, timeoutMs?: number): Promise<RecordedFrame>;
  /** Stops listening and destroys every proxied connection. */
  close(): Promise<void>;
}

class Splitter {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (frame: Buffer) => void) {}
  write(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 16 && this.buf[0] === 0x08) {
      const total = 16 + this.buf.readUInt32BE(12);
      if (this.buf.length < total) return;
      this.onFrame(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
  }
}

/** Starts a recording proxy in front of `upstream` (an rpcx key `tcp@host:port` or `host:port`). */
export async function startFrameProxy(upstream: string): Promise<FrameProxy> {
  const target = upstream.includes('@') ? upstream.slice(upstream.indexOf('@') + 1) : upstream;
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  const frames: RecordedFrame[] = [];
  const waiters = new Set<{ dir: Direction; pred: (f: RecordedFrame) => boolean; resolve: (f: RecordedFrame) => void }>();
  const sockets = new Set<Socket>();
  let connCount = 0;

  const record = (f: RecordedFrame): void => {
    frames.push(f);
    for (const w of waiters) {
      if (w.dir === f.dir && w.pred(f)) {
        waiters.delete(w);
        w.resolve(f);
      }
    }
  };

  const server: Server = createServer((down) => {
    const id = connCount++;
    const up = connect({ host, port });
    sockets.add(down);
    sockets.add(up);
    const mk = (dir: Direction): Splitter =>
      new Splitter((bytes) => {
        let msg: Message;
        try {
          msg = decodeMessage(bytes, { compressors: defaultCompressors, maxMessageLength: 0 });
        } catch {
          return;
        }
        record({ dir, conn: id, bytes, msg });
      });
    const c2s = mk('c2s');
    const s2c = mk('s2c');
    down.on('data', (d: Buffer) => {
      c2s.write(d);
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      s2c.write(d);
      down.write(d);
    });
    const end = (): void => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('close', end);
    up.on('close', end);
    down.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no TCP address');

  return {
    address: `tcp@127.0.0.1:${addr.port}`,
    frames,
    select: (dir, pred = () => true) => frames.filter((f) => f.dir === dir && pred(f)),
    waitFor: (dir, pred, timeoutMs = 5_000) => {
      const found = frames.find((f) => f.dir === dir && pred(f));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<RecordedFrame>((resolve, reject) => {
        const w = {
          dir,
          pred,
          resolve: (f: RecordedFrame) => {
            clearTimeout(timer);
            resolve(f);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no ${dir} frame matched within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
