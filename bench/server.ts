// Bench servers of the side-by-side benchmark (issue 5), one per process, pinned by bench/run.ts.
//   --kind rpcx       the rpcx TS server: Bench.Echo (protobuf BenchmarkMessage, field1 = "OK",
//                     field2 = 100, rest echoed) and Echo.Bytes (raw echo), as the Go peer serves them
//   --kind grpc       @grpc/grpc-js server of bench/grpc-echo.proto (same two echoes)
//   --kind echo       a raw `net` echo of 4-byte length-prefixed frames (the Node ceiling)
//   --kind blackhole  reads and discards everything (memory with pending calls)
// Prints `listening <host:port>` once bound; exits on SIGTERM/SIGINT or when stdin closes.
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { CodecRegistry } from '../src/codec/registry.js';
import { RawCodec } from '../src/codec/none.js';
import { ProtobufCodec } from '../src/codec/protobuf.js';
import { createServer } from '../src/server/server.js';
import { benchmarkType, parseArgs, root } from './common.js';

const args = parseArgs(process.argv.slice(2));
const kind = args.get('kind') ?? 'rpcx';
let stop: () => Promise<void>;

function announce(addr: string): void {
  process.stdout.write(`listening ${addr}\n`);
}

class Echo {
  Bytes(a: unknown): unknown {
    return a ?? null;
  }
}

class Bench {
  Echo(a: Record<string, unknown>): Record<string, unknown> {
    a.field1 = 'OK';
    a.field2 = 100;
    return a;
  }
}

async function rpcx(): Promise<void> {
  const server = createServer({ codecs: new CodecRegistry([new RawCodec(), new ProtobufCodec()]) });
  const t = benchmarkType();
  server.register(new Bench(), { name: 'Bench', types: { Echo: { args: t, reply: t } } });
  server.register(new Echo(), { name: 'Echo' });
  const addr = await server.serve('tcp', args.get('addr') ?? '127.0.0.1:0');
  stop = () => server.shutdown({ timeoutMs: 1000 });
  announce(addr.replace(/^tcp@/, ''));
}

async function grpc(): Promise<void> {
  const g = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const def = await loader.load(join(root, 'bench', 'grpc-echo.proto'), { keepCase: true, includeDirs: [join(root, 'interop', 'proto')] });
  const pkg = g.loadPackageDefinition(def) as unknown as { rpcxbench: { EchoService: { service: import('@grpc/grpc-js').ServiceDefinition } } };
  const server = new g.Server();
  type Cb = (err: null, v: unknown) => void;
  server.addService(pkg.rpcxbench.EchoService.service, {
    Bytes: (call: { request: unknown }, cb: Cb) => cb(null, call.request),
    Bench: (call: { request: Record<string, unknown> }, cb: Cb) => {
      call.request.field1 = 'OK';
      call.request.field2 = 100;
      cb(null, call.request);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', g.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  stop = () => new Promise((resolve) => server.tryShutdown(() => resolve()));
  announce(`127.0.0.1:${port}`);
}

/** Echoes every complete length-prefixed frame, one write per 'data' event. */
function echoConn(sock: Socket): void {
  sock.setNoDelay(true);
  let rest: Buffer | undefined;
  sock.on('data', (chunk: Buffer) => {
    const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    let p = 0;
    while (buf.length - p >= 4) {
      const n = buf.readUInt32BE(p);
      if (buf.length - p - 4 < n) break;
      p += 4 + n;
    }
    if (p > 0) sock.write(p === buf.length ? buf : buf.subarray(0, p));
    rest = p === buf.length ? undefined : Buffer.from(buf.subarray(p));
  });
  sock.on('error', () => sock.destroy());
}

async function plain(handler: (s: Socket) => void): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    handler(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  announce(`127.0.0.1:${a.port}`);
}

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 2000);
  force.unref();
  void stop().finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

if (kind === 'rpcx') await rpcx();
else if (kind === 'grpc') await grpc();
else if (kind === 'echo') await plain(echoConn);
else if (kind === 'blackhole')
  await plain((s) => {
    s.on('data', () => {});
    s.on('error', () => s.destroy());
  });
else throw new Error(`unknown --kind ${kind}`);
