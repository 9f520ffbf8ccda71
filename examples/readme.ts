import { Client, createServer, type RequestContext } from '../src/index.js';

// A service: methods are called by their own names, as Go clients call them.
class Arith {
  Mul(args: { A: number; B: number }): { C: number } {
    return { C: args.A * args.B };
  }
}

const server = createServer();
server.register(new Arith());
// A raw function service that pushes a notification to the caller before it replies.
server.registerFunction('Notify', async (args: { Text: string }, ctx: RequestContext) => {
  await server.sendMessage(ctx.connection, 'Notify', 'Event', { from: 'server' }, new TextEncoder().encode(args.Text));
  return { OK: true };
}, 'Send');
const address = await server.serve('tcp', '127.0.0.1:0'); // e.g. tcp@127.0.0.1:40123

const client = await Client.connect(address); // msgpack by default, as Go's client.DefaultOption
console.log(await client.call('Arith', 'Mul', { A: 6, B: 7 })); // { C: 42 }

const pushes = client.messages()[Symbol.asyncIterator]();
await client.call('Notify', 'Send', { Text: 'hello' });
const push = (await pushes.next()).value!;
console.log(push.serviceMethod, new TextDecoder().decode(push.payload)); // Event hello

await client.close();
await server.shutdown();
