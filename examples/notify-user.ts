// Notifications to a user id (rpcx's bidirectional guide, the IoT case), server side for real:
// a `Login` call tags the connection with the user id; the server then pushes to "user alice",
// not to a socket, and reaches every connection alice has open (her phone and her laptop) and
// no one else's. Go: the server keeps its own `map[userID]net.Conn` and calls `SendMessage` on
// each; here `conn.tag(user)` and `server.sendMessageToTag(user, ...)` keep that map for you,
// and a connection leaves it when it closes.
//
//   node build/examples/notify-user.js
import { Client, createServer, connectionKey, type RequestContext } from '../src/index.js';

const User = connectionKey<string>('user');
const server = createServer();

class Account {
  Login(args: { User: string }, ctx: RequestContext): string {
    ctx.connection.set(User, args.User);
    ctx.connection.tag(args.User);
    return `welcome ${args.User}`;
  }
}
server.register(new Account());
const address = await server.serve('tcp', '127.0.0.1:0');

// Three devices: two of alice's, one of bob's. Each logs in on its own connection.
const devices = ['alice/phone', 'alice/laptop', 'bob/phone'];
const received: string[] = [];
const clients = await Promise.all(
  devices.map(async (name) => {
    const c = await Client.connect(address);
    c.onMessage((m) => received.push(`${name} got ${m.servicePath}.${m.serviceMethod}: ${new TextDecoder().decode(m.payload)}`));
    await c.call('Account', 'Login', { User: name.split('/')[0] });
    return c;
  }),
);

// The server notifies a user: every connection tagged `alice`.
const r = await server.sendMessageToTag('alice', 'Thermostat', 'Alert', { severity: 'high' }, new TextEncoder().encode('living room at 31°C'));
console.log(`pushed to alice: ${r.sent} connection(s)`);
await server.sendMessageToTag('bob', 'Door', 'Opened', {}, new TextEncoder().encode('front door'));
while (received.length < 3) await new Promise((resolve) => setImmediate(resolve));
for (const line of received.sort()) console.log(line);

// alice's phone goes away: she is down to one connection.
await clients[0]!.close();
while (server.connectionsTagged('alice').size !== 1) await new Promise((resolve) => setImmediate(resolve));
console.log(`alice's connections after her phone left: ${server.connectionsTagged('alice').size}`);

for (const c of clients) await c.close();
await server.close();
