// A watch-style long poll (the KV `Watch` pattern): a call that returns only when a value has
// changed, or when its deadline passes. The client side is an ordinary call with a long
// `timeoutMs` (which travels to the server as `__ServerTimeout`, so the server handler sees the
// same deadline in its ctx) and an AbortSignal to stop watching.
//
// Honest note: the demo servers (`npm start`, and the Go peer in interop/go) have no KV service.
// A real `KV.Watch` handler blocks in the server until the key changes or ctx is done. Here the
// "value" is the server's counter `Echo.Count`/`Echo.GetCount`, and the server-side wait is
// `Echo.Sleep` (which ends early when its ctx deadline passes): each round holds a request open
// on the server for up to `holdMs`, then reads the value. Replace `waitOnServer` + `read` with a
// single `KV.Watch` call and the rest stays the same.
//
//   npm start
//   node build/examples/watch-long-poll.js               # or: ... tcp@host:port
import { Client, RpcxError } from '../src/index.js';

const address = process.argv[2] ?? '127.0.0.1:8972';
const key = `watch-demo-${process.pid}-${Date.now()}`;

const client = await Client.connect(address);

async function read(): Promise<bigint> {
  const r = await client.call<{ Count: number | bigint }>('Echo', 'GetCount', { Key: key });
  return BigInt(r.Count);
}

/** Holds one request open on the server for up to `holdMs` (or until `signal` aborts). */
async function waitOnServer(holdMs: number, signal: AbortSignal): Promise<void> {
  await client.call('Echo', 'Sleep', { Ms: holdMs }, { timeoutMs: holdMs + 1_000, signal });
}

/**
 * Resolves with the new value once it differs from `since`; rejects with TIMEOUT after
 * `timeoutMs`, or CANCELLED when `signal` aborts.
 */
async function watch(since: bigint, options: { timeoutMs: number; signal?: AbortSignal; holdMs?: number }): Promise<bigint> {
  const deadline = Date.now() + options.timeoutMs;
  const stop = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])]);
  for (;;) {
    const value = await read();
    if (value !== since) return value;
    const left = deadline - Date.now();
    if (left <= 0 || stop.aborted) throw new RpcxError(options.signal?.aborted ? 'CANCELLED' : 'TIMEOUT', `watch ${key}: no change`);
    try {
      await waitOnServer(Math.min(options.holdMs ?? 100, left), stop);
    } catch (err) {
      if (err instanceof RpcxError && err.code === 'CANCELLED') {
        throw new RpcxError(options.signal?.aborted ? 'CANCELLED' : 'TIMEOUT', `watch ${key}: no change`, { cause: err });
      }
      throw err;
    }
  }
}

// A writer on its own connection changes the value twice, 300 ms apart.
const writer = await Client.connect(address);
const writes = (async () => {
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await writer.call('Echo', 'Count', { Key: key });
    console.log(`writer: changed ${key}`);
  }
})();

let value = await read();
console.log(`watching ${key}, value ${value}`);
for (let i = 0; i < 2; i++) {
  value = await watch(value, { timeoutMs: 5_000 });
  console.log(`watch returned: value ${value}`);
}
await writes;

// Nothing changes any more: the watch ends at its deadline, or when cancelled.
try {
  await watch(value, { timeoutMs: 300 });
} catch (err) {
  console.log(`watch with no change: ${(err as RpcxError).code}`);
}
const ac = new AbortController();
setTimeout(() => ac.abort(), 100);
try {
  await watch(value, { timeoutMs: 5_000, signal: ac.signal });
} catch (err) {
  console.log(`watch after abort: ${(err as RpcxError).code}`);
}

await writer.close();
await client.close();
