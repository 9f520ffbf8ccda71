// gRPC's RouteChat (route_guide) on rpcx: a bidirectional stream of messages. Both sides send
// and receive independently; `end()` is gRPC's `CloseSend`, and the server's end-of-stream ends
// the `for await` loop. Each note travels as one rpcx frame on a stream-service connection, so
// the Go server peer (interop/go: internal/streams routeChat on protocol.Read/WriteTo) answers.
//
//   cd interop/go && go run ./cmd/server -stream        # prints: listening tcp@127.0.0.1:PORT
//   node build/examples/route-chat.js tcp@127.0.0.1:PORT
//
// gRPC                                   rpcx for Node
//   stream := client.RouteChat(ctx)        const stream = await client.openStream('RouteGuide', 'RouteChat')
//   stream.Send(note)                      await stream.send(note)
//   stream.Recv()                          for await (const note of stream)
//   stream.CloseSend()                     await stream.end()
import { Client } from '../src/index.js';

interface Point {
  Latitude: number;
  Longitude: number;
}
interface RouteNote {
  Location: Point;
  Message: string;
}

const address = process.argv[2] ?? '127.0.0.1:8972';
const client = await Client.connect(address);

const notes: RouteNote[] = [
  { Location: { Latitude: 0, Longitude: 1 }, Message: 'First message' },
  { Location: { Latitude: 0, Longitude: 2 }, Message: 'Second message' },
  { Location: { Latitude: 0, Longitude: 3 }, Message: 'Third message' },
  { Location: { Latitude: 0, Longitude: 1 }, Message: 'Fourth message' },
  { Location: { Latitude: 0, Longitude: 2 }, Message: 'Fifth message' },
  { Location: { Latitude: 0, Longitude: 3 }, Message: 'Sixth message' },
];

const stream = await client.openStream<RouteNote, RouteNote>('RouteGuide', 'RouteChat', { signal: AbortSignal.timeout(10_000) });

// Receive on its own, as gRPC's example does in a goroutine.
const receiving = (async () => {
  for await (const n of stream) {
    console.log(`Got message "${n.Message}" at point(${n.Location.Latitude}, ${n.Location.Longitude})`);
  }
})();

for (const note of notes) await stream.send(note);
await stream.end(); // CloseSend
await receiving; // the server's end-of-stream
await client.close();
