// Login state kept on the connection (Go net/rpc's per-connection context; rpcx: values in the
// `share.Context`, but per request only): a `Login` call stores who logged in on the server's
// connection object, later calls on that connection see it, and another connection does not.
// `connectionKey<T>()` makes the value typed; the state goes when the connection closes.
//
//   node build/examples/login-server-state.js
import { Client, ServiceError, createServer, connectionKey, type RequestContext } from '../src/index.js';

interface Session {
  user: string;
  loggedInAt: number;
}
const SessionKey = connectionKey<Session>('session');

class Auth {
  Login(args: { User: string; Password: string }, ctx: RequestContext): string {
    if (args.Password !== 'open sesame') throw new Error('wrong password');
    ctx.connection.set(SessionKey, { user: args.User, loggedInAt: Date.now() });
    return 'ok';
  }
  Logout(_args: unknown, ctx: RequestContext): string {
    ctx.connection.delete(SessionKey);
    return 'bye';
  }
}

class Files {
  List(_args: unknown, ctx: RequestContext): string[] {
    const s = ctx.connection.get(SessionKey);
    if (s === undefined) throw new Error('not logged in');
    return [`/home/${s.user}/notes.txt`, `/home/${s.user}/todo.txt`];
  }
}

const server = createServer();
server.register(new Auth());
server.register(new Files());
const address = await server.serve('tcp', '127.0.0.1:0');

const show = async (who: string, p: Promise<unknown>): Promise<void> => {
  try {
    console.log(`${who}: ${JSON.stringify(await p)}`);
  } catch (err) {
    console.log(`${who}: error: ${err instanceof ServiceError ? err.message : String(err)}`);
  }
};

const alice = await Client.connect(address);
const mallory = await Client.connect(address);
await show('alice before login', alice.call('Files', 'List', null));
await show('alice login', alice.call('Auth', 'Login', { User: 'alice', Password: 'open sesame' }));
await show('alice after login', alice.call('Files', 'List', null));
await show('mallory (other connection)', mallory.call('Files', 'List', null));
await show('mallory wrong password', mallory.call('Auth', 'Login', { User: 'alice', Password: 'guess' }));
await show('alice logout', alice.call('Auth', 'Logout', null));
await show('alice after logout', alice.call('Files', 'List', null));

await alice.close();
await mallory.close();
await server.close();
