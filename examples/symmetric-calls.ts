// Synchronous calls in both directions over one connection (as a Go "tcpstream" library does;
// rpcx has no server-to-client calls): the client registers services like a server, and either
// side calls the other and waits for the answer, multiplexed by seq with its own calls. Plus a
// push, a broadcast, and a client that reconnects by itself.
//
//   node build/examples/symmetric-calls.js
import { Client, createServer, type RequestContext, type ServerConnection } from '../src/index.js';

const server = createServer();
// A server handler that asks the calling client something before it answers.
server.registerFunction('Shop', async (item: string, ctx: RequestContext) => {
  const budget = await ctx.connection.call<number>('Wallet', 'Budget', null, { timeoutMs: 2_000 });
  return budget >= 10 ? `bought ${item}` : `cannot afford ${item} with ${budget}`;
}, 'Buy');
server.registerFunction('Shop', () => 10, 'Price');
const address = await server.serve('tcp', '127.0.0.1:0');
let latest: ServerConnection | undefined;
server.on('connect', (c) => (latest = c));

const client = new Client(address, { reconnect: { initialDelayMs: 20 } });
let budget = 25;
// The client's services, called by the server over the client's own connection.
client.registerFunction('Wallet', () => budget, 'Budget');
client.registerFunction('Wallet', async (_: unknown, ctx: RequestContext) => {
  // A client handler calling the server back, in the middle of the server's call.
  const price = await ctx.connection.call<number>('Shop', 'Price', null);
  budget -= price;
  return budget;
}, 'Pay');
let gotNews: () => void = () => {};
const news = new Promise<void>((resolve) => (gotNews = resolve));
client.onMessage((m) => {
  // Also the message rpcx injects when the connection breaks (status Error, empty path).
  if (m.servicePath === 'News') {
    console.log(`push: ${m.servicePath}.${m.serviceMethod}`);
    gotNews();
  }
});
await client.connect();

console.log(`client -> server: ${await client.call('Shop', 'Buy', 'tea')}`);
console.log(`server -> client: budget ${await latest!.call('Wallet', 'Budget', null)}`);
console.log(`server -> client -> server: budget after paying ${await latest!.call('Wallet', 'Pay', null)}`);
await server.broadcast('News', 'Sale');
await news;

// The connection breaks; the client reconnects by itself and serves again.
const before = latest!;
client.socket?.destroy();
while (latest === before || !client.isConnected) await new Promise((r) => setTimeout(r, 10));
console.log(`after reconnect, server -> client: budget ${await latest!.call('Wallet', 'Budget', null)}`);

await client.close();
await server.close();
