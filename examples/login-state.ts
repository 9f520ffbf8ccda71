// Per-connection login state: a token that goes with every call on a client (Go: XClient.Auth,
// which puts `__AUTH` in the metadata of every request; the server checks it in its AuthFunc),
// plus per-client metadata for a session. A server with an AuthFunc (the Go peer with
// `-auth TOKEN`, or a TS server with an `auth` function) refuses a wrong token with its error
// text and then closes the connection, as rpcx does.
//
//   npm start
//   node build/examples/login-state.js [address] [token]     # token default: secret-token
import { Client, ServiceError } from '../src/index.js';

const address = process.argv[2] ?? '127.0.0.1:8972';
const token = process.argv[3] ?? process.env['RPCX_TOKEN'] ?? 'secret-token';

// One client = one connection = one login: the token is an option of the client.
const alice = await Client.connect(address, { auth: token });
try {
  // Echo.Metadata answers with the request metadata it got: what the server saw for us.
  const { metadata } = await alice.callWithMetadata('Echo', 'Metadata', {}, { metadata: { session: 'alice-1' } });
  console.log(`logged in: server saw __AUTH=${metadata.get('__AUTH')} session=${metadata.get('session')}`);
  const r = await alice.call<{ C: number }>('Arith', 'Mul', { A: 6, B: 7 });
  console.log(`authenticated call: ${r.C}`);
} catch (err) {
  if (err instanceof ServiceError) {
    // The server refused the token: rpcx sends the AuthFunc's error text, then closes.
    console.log(`login refused: ${err.message}`);
    await new Promise((r) => setTimeout(r, 100));
    console.log(`connection open after refusal: ${alice.isConnected}`);
  } else {
    throw err;
  }
} finally {
  await alice.close();
}
