// The TS side of bench/stream.ts: a server with the stream service (an echo for byte streams,
// Example.Endless for message streams), as a process of its own. Prints `listening <key>`.
import type { Duplex } from 'node:stream';
import { createServer } from '../src/server/index.js';
import { streamRouter } from '../src/stream/index.js';

function echo(stream: Duplex): void {
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
}

const server = createServer();
await server.enableStreamService(
  streamRouter(
    {
      Example: {
        Endless: async function* (incoming: AsyncIterable<{ Count: number | bigint; Size: number | bigint }>) {
          for await (const req of incoming) {
            const data = new Uint8Array(Number(req.Size)).fill(7);
            const count = Number(req.Count);
            for (let i = 0; i < count; i++) yield { N: i, Data: data };
            return;
          }
        },
      },
    },
    { codecs: server.codecs, fallback: echo },
  ),
);
const key = await server.serve('tcp', '127.0.0.1:0');
console.log(`listening ${key}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
