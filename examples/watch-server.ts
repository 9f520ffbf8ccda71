// Watch, server side (Go net/rpc's Watch pattern): `KV.Watch {Key, Since, TimeoutMs}` blocks in
// the server until another client's `KV.Set` changes the key, or its timeout passes (then
// `Changed: false`), or the caller's deadline / disconnect (`ctx.signal`) ends it. Go rpcx
// clients call it as any method (interop case watch_long_poll runs the Go client against it).
//
//   node build/examples/watch-server.js                 # demo: TS clients, exits
//   node build/examples/watch-server.js --serve [addr]  # serve only, print the address
import { Client, createServer, type RequestContext } from '../src/index.js';

interface Entry {
  value: string;
  version: number;
}
type WatchReply = { Value: string; Version: number; Changed: boolean };

export class KV {
  readonly #data = new Map<string, Entry>();
  /** Blocked watches by key: each releases itself (timer, signal) or is released by `Set`. */
  readonly #waiting = new Map<string, Set<(e: Entry | undefined, changed: boolean) => void>>();

  Set(a: { Key: string; Value: string }): { Version: number } {
    const e = { value: a.Value, version: (this.#data.get(a.Key)?.version ?? 0) + 1 };
    this.#data.set(a.Key, e);
    const ws = this.#waiting.get(a.Key);
    this.#waiting.delete(a.Key);
    for (const release of ws ?? []) release(e, true);
    return { Version: e.version };
  }

  Get(a: { Key: string }): { Value: string; Version: number } {
    const e = this.#data.get(a.Key);
    return { Value: e?.value ?? '', Version: e?.version ?? 0 };
  }

  /** How many watches wait on `Key` (lets a test wait until a watch is blocked). */
  Waiters(a: { Key: string }): { N: number } {
    return { N: this.#waiting.get(a.Key)?.size ?? 0 };
  }

  Watch(a: { Key: string; Since?: number; TimeoutMs?: number }, ctx: RequestContext): WatchReply | Promise<WatchReply> {
    const cur = this.#data.get(a.Key);
    if (cur !== undefined && cur.version > (a.Since ?? 0)) return { Value: cur.value, Version: cur.version, Changed: true };
    const signal = ctx.signal; // aborts at the caller's deadline (__ServerTimeout) or disconnect
    return new Promise<WatchReply>((resolve, reject) => {
      const set = this.#waiting.get(a.Key) ?? new Set();
      this.#waiting.set(a.Key, set);
      const stop = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        set.delete(release);
        if (set.size === 0 && this.#waiting.get(a.Key) === set) this.#waiting.delete(a.Key);
      };
      const release = (e: Entry | undefined, changed: boolean): void => {
        stop();
        resolve({ Value: e?.value ?? '', Version: e?.version ?? 0, Changed: changed });
      };
      const onAbort = (): void => {
        stop();
        reject(signal.reason);
      };
      const timer = setTimeout(() => release(this.#data.get(a.Key), false), a.TimeoutMs || 30_000);
      signal.addEventListener('abort', onAbort, { once: true });
      set.add(release);
    });
  }
}

const server = createServer();
server.register(new KV());

if (process.argv[2] === '--serve') {
  console.log(await server.serve('tcp', process.argv[3] ?? '127.0.0.1:0'));
} else {
  const address = await server.serve('tcp', '127.0.0.1:0');
  const watcher = await Client.connect(address);
  const writer = await Client.connect(address);
  const watching = watcher.call<WatchReply>('KV', 'Watch', { Key: 'light', Since: 0, TimeoutMs: 10_000 });
  // Wait until the watch is blocked in the server, then change the key from the other client.
  while ((await writer.call<{ N: number }>('KV', 'Waiters', { Key: 'light' })).N === 0) await new Promise((r) => setImmediate(r));
  console.log('watch is waiting');
  await writer.call('KV', 'Set', { Key: 'light', Value: 'on' });
  console.log(`watch released: ${JSON.stringify(await watching)}`);
  const idle = await watcher.call<WatchReply>('KV', 'Watch', { Key: 'light', Since: 1, TimeoutMs: 200 });
  console.log(`nothing changed: ${JSON.stringify(idle)}`);
  await watcher.close();
  await writer.close();
  await server.close();
}
