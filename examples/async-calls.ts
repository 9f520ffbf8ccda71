// Async calls with completion, like Go net/rpc's `client.Go(...)` and its `Done` channel: start
// several calls, do other work, then collect each call when it completes, in completion order.
// In TypeScript a call already is a promise; the small `go()` helper below only adds what
// `*rpc.Call` carries (the method, args, reply or error) so results can be handled uniformly.
//
//   npm start
//   node build/examples/async-calls.js                   # or: ... tcp@host:port
import { Client, RpcxError } from '../src/index.js';

const address = process.argv[2] ?? '127.0.0.1:8972';

/** What Go's `*rpc.Call` holds once done. */
interface Call<A, R> {
  servicePath: string;
  serviceMethod: string;
  args: A;
  reply?: R;
  error?: RpcxError;
}

/** Starts a call and returns at once; `done` resolves (never rejects) when it completes. */
function go<A, R>(client: Client, servicePath: string, serviceMethod: string, args: A, timeoutMs?: number): { done: Promise<Call<A, R>> } {
  const call: Call<A, R> = { servicePath, serviceMethod, args };
  const options = timeoutMs === undefined ? {} : { timeoutMs };
  const done = client.call<R>(servicePath, serviceMethod, args, options).then(
    (reply) => ({ ...call, reply }),
    (err: unknown) => ({ ...call, error: RpcxError.from(err) }),
  );
  return { done };
}

const client = await Client.connect(address);

// Start them all: they share one connection and are answered in any order.
const calls = [
  go<{ Ms: number }, { SleptMs: number }>(client, 'Echo', 'Sleep', { Ms: 300 }),
  go<{ Ms: number }, { SleptMs: number }>(client, 'Echo', 'Sleep', { Ms: 100 }),
  go<{ A: number; B: number }, { C: number }>(client, 'Arith', 'Mul', { A: 6, B: 7 }),
  go<{ A: number; B: number }, { C: number }>(client, 'Arith', 'Div', { A: 1, B: 0 }), // an error reply
  go<{ Ms: number }, { SleptMs: number }>(client, 'Echo', 'Sleep', { Ms: 5_000 }, 200), // times out
];
console.log(`${calls.length} calls in flight, ${client.pendingCalls} pending`);

// Collect in completion order, like reading from a shared Done channel.
const pending = new Set(calls.map((c) => c.done));
while (pending.size > 0) {
  const finished = await Promise.race([...pending].map((p) => p.then((call) => ({ p, call }))));
  pending.delete(finished.p);
  const { call } = finished;
  const what = `${call.servicePath}.${call.serviceMethod}(${JSON.stringify(call.args)})`;
  if (call.error !== undefined) console.log(`${what} failed: ${call.error.code} ${call.error.message}`);
  else console.log(`${what} = ${JSON.stringify(call.reply, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
}

// Or simply wait for all of them, as with sync.WaitGroup.
const all = await Promise.all(calls.map((c) => c.done));
console.log(`all done: ${all.filter((c) => c.error === undefined).length} ok, ${all.filter((c) => c.error !== undefined).length} failed`);

await client.close();
