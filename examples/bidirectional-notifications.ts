// Bidirectional notifications, the rpcx IoT example (Go: client.NewBidirectionalXClient + a
// server that calls Server.SendMessage): the client calls once to subscribe, then the server
// pushes messages to it over the same connection, whenever it likes.
//
//   npm start                                            # a server on 127.0.0.1:8972
//   node build/examples/bidirectional-notifications.js   # or: ... tcp@host:port
//
// The server's `Push.Start` sends `Count` pushes with the given path, method, metadata and
// payload (each payload gets the push index appended as 8 bytes big-endian).
import { Client, type Message } from '../src/index.js';

const address = process.argv[2] ?? '127.0.0.1:8972';

const client = await Client.connect(address, {
  // Pushes wait in a bounded buffer; 'block' stops reading the socket while it is full (Go's
  // Option.BidirectionalBlock), 'drop' drops and counts them (client.droppedMessages).
  pushBufferSize: 64,
  pushPolicy: 'block',
});

// Subscribe once: the device asks for 5 temperature readings, 100 ms apart.
const count = 5;
const reply = await client.call<{ Sent: number }>('Push', 'Start', {
  Path: 'IoT',
  Method: 'Temperature',
  Metadata: { device: 'sensor-1' },
  Payload: new TextEncoder().encode('reading #'),
  Count: count,
  IntervalMs: 100,
});
console.log(`subscribed (server replied at once, ${reply.Sent} sent so far)`);

// Then receive: the pushes are an async iterable of rpcx messages.
let received = 0;
for await (const msg of client.messages()) {
  if (isDisconnect(msg)) {
    console.log(`connection lost: ${msg.metadata.get('__rpcx_error__')}`);
    break;
  }
  const index = new DataView(msg.payload.buffer, msg.payload.byteOffset + msg.payload.length - 8).getBigUint64(0);
  console.log(`${msg.servicePath}.${msg.serviceMethod} from ${msg.metadata.get('device')}: ${index}`);
  if (++received === count) break;
}

await client.close();

/** Like Go's client, the stream gets one synthetic message (status Error) when the connection dies. */
function isDisconnect(msg: Message): boolean {
  return msg.messageStatusType === 1 && msg.servicePath === '';
}
