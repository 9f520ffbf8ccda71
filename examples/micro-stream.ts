// go-micro's streaming examples (examples/stream) on rpcx: a server stream (`Stream`: one
// request, many replies) and a bidirectional stream (`PingPong`). The server side here is a TS
// rpcx server with `streamRouter` and async-generator handlers; pass an address to call the Go
// server peer instead (interop/go: `go run ./cmd/server -stream`), which has the same handlers
// written on rpcx's protocol.Read/WriteTo.
//
//   node build/examples/micro-stream.js                       # own TS server
//   node build/examples/micro-stream.js tcp@127.0.0.1:PORT    # the Go server peer
//
// go-micro                                       rpcx for Node
//   stream, _ := cl.Stream(ctx, &Request{Count})   const s = await client.openStream('Example', 'Stream'); await s.send({ Count })
//   stream.Recv(&rsp)  (io.EOF at the end)         for await (const rsp of s)
//   stream.Send(&Ping{Stroke}) / Close()           await s.send({ Stroke }) / await s.end()
//   handler: func(ctx, req, stream) error          async function* (incoming, ctx) { ... yield reply }
import { Client, createServer, streamRouter } from '../src/index.js';

let address = process.argv[2];
let stop = async (): Promise<void> => undefined;
if (address === undefined) {
  const server = createServer();
  await server.enableStreamService(
    streamRouter(
      {
        Example: {
          // go-micro: func (e *Example) Stream(ctx, req *StreamingRequest, stream Example_StreamStream) error
          Stream: async function* (incoming: AsyncIterable<{ Count: number }>) {
            for await (const req of incoming) {
              for (let i = 0; i < Number(req.Count); i++) yield { Count: i };
              return;
            }
          },
          // go-micro: func (e *Example) PingPong(ctx, stream Example_PingPongStream) error
          PingPong: async function* (incoming: AsyncIterable<{ Stroke: number }>) {
            for await (const ping of incoming) yield { Stroke: ping.Stroke };
          },
        },
      },
      { codecs: server.codecs },
    ),
  );
  address = await server.serve('tcp', '127.0.0.1:0');
  stop = () => server.close();
}

const client = await Client.connect(address);

// Server stream: one request, ten replies, then end-of-stream.
const s = await client.openStream<{ Count: number }, { Count: number | bigint }>('Example', 'Stream');
await s.send({ Count: 10 });
await s.end();
const counts: number[] = [];
for await (const rsp of s) counts.push(Number(rsp.Count));
console.log(`Stream: got ${counts.length} replies: ${counts.join(' ')}`);

// Bidirectional stream: a Pong per Ping.
const pp = await client.openStream<{ Stroke: number }, { Stroke: number | bigint }>('Example', 'PingPong');
const pongs = pp[Symbol.asyncIterator]();
for (let i = 1; i <= 3; i++) {
  await pp.send({ Stroke: i });
  const pong = await pongs.next();
  console.log(`PingPong: sent ping ${i}, got pong ${Number(pong.value?.Stroke)}`);
}
await pp.end();
console.log(`PingPong: end-of-stream ${(await pongs.next()).done === true}`);

await client.close();
await stop();
