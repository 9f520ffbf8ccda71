// Reverse RPC across a "firewall" (Go net/rpc's reverse RPC; rpcx has none): the provider of a
// service cannot be reached (no listener, a private network), so it dials out to the caller and
// serves over that outgoing connection, redialling with backoff when the connection breaks. The
// caller listens and gets a `Client` for every provider that dials in.
//
//   node build/examples/reverse-rpc.js
import { acceptClients, createServer, dialAndServe } from '../src/index.js';

// The caller: a public listener.
const acceptor = await acceptClients('tcp', '127.0.0.1:0');
console.log(`caller listening on ${acceptor.address}`);

// The provider, inside the private network: services, but no serve() — it only dials out.
const provider = createServer();
provider.registerFunction('Sensor', () => ({ Celsius: 21.5 }), 'Read');
const outbound = dialAndServe(provider, acceptor.address, { backoff: { initialDelayMs: 50, maxDelayMs: 2_000 } });

let connections = 0;
for await (const sensor of acceptor) {
  connections++;
  console.log(`provider dialled in (connection ${connections}): ${JSON.stringify(await sensor.call('Sensor', 'Read', null))}`);
  if (connections === 1) {
    // The link breaks: the provider dials again and the caller gets a new client.
    sensor.socket?.destroy();
    continue;
  }
  break;
}
await outbound.close();
await acceptor.close();
await provider.close();
