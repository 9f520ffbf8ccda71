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
  // Pushes wait in a bounded buffer. When it is full, 'drop' (the default, as Go's
  // Option.BidirectionalBlock = false) drops and counts them (client.droppedMessages); 'block'
  // stops reading the socket until we catch up, so replies on this connection wait too.
  pushBufferSize: 64,
  pushPolicy: 'block',
});

// Attach the consumer before subscribing: as in Go, where pushes are discarded while no channel
// is registered, pushes that arrive before a consumer is attached are discarded (and counted).
const pushes = client.messages()[Symbol.asyncIterator]();

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
for (let received = 0; received < count; received++) {
  const { value: msg, done } = await pushes.next();
  if (done === true) break;
  if (isDisconnect(msg)) {
    console.log(`connection lost: ${msg.metadata.get('__rpcx_error__')}`);
    break;
  }
  const index = new DataView(msg.payload.buffer, msg.payload.byteOffset + msg.payload.length - 8).getBigUint64(0);
  console.log(`${msg.servicePath}.${msg.serviceMethod} from ${msg.metadata.get('device')}: ${index}`);
}
await pushes.return?.();

await client.close();

/** Like Go's client, the stream gets one synthetic message (status Error) when the connection dies. */
function isDisconnect(msg: Message): boolean {
  return msg.messageStatusType === 1 && msg.servicePath === '';
}
