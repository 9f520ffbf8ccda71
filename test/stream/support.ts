// Shared by the stream tests: the deterministic content of interop/go/internal/streams
// (Content, Sha256Hex) and a TS server with the same handlers as the Go server peer
// (`-stream -file-dir`).
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { streamRouter, type FileTransferArgs, type MessageStreamRoutes, type SideService, type SideListenerOptions } from '../../src/stream/index.js';

/** Go streams.Content: sha256("rpcx-stream" || uint64be(k)) for k = 0, 1, ... truncated to `size`. */
const contentCache = new Map<number, Buffer>();

export function content(size: number): Buffer {
  const hit = contentCache.get(size);
  if (hit !== undefined) return hit;
  const out = Buffer.allocUnsafe(Math.ceil(size / 32) * 32);
  const b = Buffer.alloc(19);
  b.write('rpcx-stream', 0, 'latin1');
  for (let k = 0; k * 32 < size; k++) {
    b.writeBigUInt64BE(BigInt(k), 11);
    createHash('sha256').update(b).digest().copy(out, k * 32);
  }
  const r = out.subarray(0, size);
  if (size >= 1024) contentCache.set(size, r);
  return r;
}

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads a stream to its end. */
export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `data` to `s` respecting backpressure (64 KiB at a time), then ends it. */
export async function writeAllAndEnd(s: Duplex, data: Uint8Array): Promise<void> {
  for (let i = 0; i < data.length; i += 65536) {
    if (!s.write(data.subarray(i, Math.min(data.length, i + 65536)))) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          s.off('error', fail);
          resolve();
        };
        const fail = (e: Error): void => {
          s.off('drain', done);
          reject(e);
        };
        s.once('drain', done);
        s.once('error', fail);
      });
    }
  }
  s.end();
}

/** The echo handler of both peers: echoes, and after the client's half-close writes the count read (8 bytes BE) and half-closes. */
export function echoHandler(stream: Duplex): void {
  let n = 0;
  stream.on('data', (c: Buffer) => {
    n += c.length;
    if (!stream.write(c)) {
      stream.pause();
      stream.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => {
    const tr = Buffer.alloc(8);
    tr.writeBigUInt64BE(BigInt(n));
    stream.end(tr);
  });
  stream.on('error', () => undefined);
}

/** What the TS server's upload handler recorded. */
export interface UploadRecord {
  args: FileTransferArgs;
  received: number;
  sha256: string;
}

/** gRPC route_guide's messages, Go field names (interop/go/internal/streams). */
export interface Point {
  Latitude: number;
  Longitude: number;
}
export interface RouteNote {
  Location: Point;
  Message: string;
}
export interface Payload {
  N: number | bigint;
  Data: Uint8Array;
}

/** What the TS server's stream handlers saw (the Go peer's StreamProbe.Stats). */
export interface StreamStats {
  endlessEnded: number;
  endlessSent: number;
  /** Resolves when an Endless handler ends because its caller went away. */
  endlessEndedWaiters: (() => void)[];
}

/** The TS versions of the Go peer's message-stream handlers (internal/streams). */
export function exampleRoutes(stats: StreamStats): MessageStreamRoutes {
  return {
    RouteGuide: {
      // gRPC route_guide RouteChat: for each note, every earlier note at the same place, then remember it.
      RouteChat: async function* (incoming: AsyncIterable<RouteNote>) {
        const notes = new Map<string, RouteNote[]>();
        for await (const note of incoming) {
          const k = `${note.Location.Latitude},${note.Location.Longitude}`;
          const earlier = notes.get(k) ?? [];
          for (const n of earlier) yield n;
          notes.set(k, [...earlier, note]);
        }
      },
    },
    Example: {
      // go-micro Stream: one request, Count replies.
      Stream: async function* (incoming: AsyncIterable<{ Count: number | bigint }>) {
        for await (const req of incoming) {
          for (let i = 0; i < Number(req.Count); i++) yield { Count: i };
          return;
        }
      },
      // go-micro BidirectionalStream / PingPong.
      PingPong: async function* (incoming: AsyncIterable<{ Stroke: number | bigint }>) {
        for await (const p of incoming) yield { Stroke: p.Stroke };
      },
      Fail: async function* (incoming: AsyncIterable<{ Count: number | bigint }>) {
        for await (const req of incoming) {
          for (let i = 0; i < Number(req.Count); i++) yield { Count: i };
          throw new Error(`stream failed after ${Number(req.Count)} replies`);
        }
      },
      Endless: async function* (incoming: AsyncIterable<{ Count: number | bigint; Size: number | bigint }>) {
        let i = 0;
        let ended = true;
        try {
          for await (const req of incoming) {
            const data = content(Number(req.Size));
            const count = Number(req.Count);
            for (; count === 0 || i < count; i++) {
              stats.endlessSent = i;
              yield { N: i, Data: data };
            }
            stats.endlessSent = i;
            ended = false;
            return;
          }
        } finally {
          if (ended) {
            stats.endlessEnded++;
            for (const w of stats.endlessEndedWaiters.splice(0)) w();
          }
        }
      },
      Sink: async function* (incoming: AsyncIterable<Payload>) {
        let n = 0;
        for await (const p of incoming) {
          if (Number(p.N) !== n) throw new Error(`sink: got message ${Number(p.N)}, want ${n}`);
          n++;
        }
        yield { Count: n };
      },
    },
  };
}

export interface TsStreamServer {
  stats: StreamStats;
  server: RpcxServer;
  key: string;
  stream: SideService;
  files: SideService;
  uploads: UploadRecord[];
  /** Resolves with the `i`-th upload (from 0) once it is recorded. */
  upload(i: number): Promise<UploadRecord>;
}

/** A TS server with the Go peer's stream service (echo) and file transfer (content-<n> downloads). */
export async function startTsStreamServer(side: SideListenerOptions = {}): Promise<TsStreamServer> {
  const server = createServer();
  const uploads: UploadRecord[] = [];
  const waiters = new Map<number, (r: UploadRecord) => void>();
  const stats: StreamStats = { endlessEnded: 0, endlessSent: 0, endlessEndedWaiters: [] };
  const stream = await server.enableStreamService(streamRouter(exampleRoutes(stats), { codecs: server.codecs, fallback: (s) => echoHandler(s) }), side);
  const files = await server.enableFileTransfer({
    ...side,
    upload: async (s, args) => {
      const data = await readAll(s);
      const r = { args, received: data.length, sha256: sha256hex(data) };
      uploads.push(r);
      waiters.get(uploads.length - 1)?.(r);
    },
    download: async (s, args) => {
      const m = /^content-(\d+)$/.exec(args.fileName);
      if (m === null) return;
      await writeAllAndEnd(s, content(Number(m[1])));
    },
  });
  const key = await server.serve('tcp', '127.0.0.1:0');
  return {
    stats,
    server,
    key,
    stream,
    files,
    uploads,
    upload: (i) => new Promise<UploadRecord>((resolve) => {
      const r = uploads[i];
      if (r !== undefined) resolve(r);
      else waiters.set(i, resolve);
    }),
  };
}
