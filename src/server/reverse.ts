/**
 * Reverse RPC, the providing side (Go net/rpc's reverse RPC; rpcx has none): the process that
 * provides the services sits behind a firewall or NAT and can only dial out. It dials the caller
 * and serves its services over that outgoing connection, reconnecting with backoff when it
 * breaks. The caller listens with `acceptClients` and gets a `Client` per accepted connection.
 */
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { dial, parseAddress, type DialOptions } from '../node/dial.js';
import type { ServerConnection } from './connection.js';
import type { RpcxServer } from './server.js';

const log = createDebug('rpcx:server');

/** Backoff between dials (the same shape as the client's `reconnect` option). */
export interface DialBackoffOptions {
  /** First delay in ms (default 100). */
  initialDelayMs?: number;
  /** Largest delay in ms (default 10,000). */
  maxDelayMs?: number;
  /** Growth factor per failed attempt (default 2). */
  multiplier?: number;
  /** Random spread as a fraction of the delay, 0..1 (default 0.2). */
  jitter?: number;
  /** Give up after this many failed dials in a row (default unlimited); `done` then rejects. */
  maxAttempts?: number;
}

export interface DialAndServeOptions extends DialOptions {
  /** Backoff between attempts; a connection that was up resets it. */
  backoff?: DialBackoffOptions;
  /** Stops for good (as `close()`). */
  signal?: AbortSignal;
  /** Every status change, from the first `connecting` on (also settable later as `onStatus`). */
  onStatus?: (s: OutboundStatus) => void;
}

/** What `dialAndServe` reports, a `type`-discriminated union. */
export type OutboundStatus =
  | { type: 'connecting'; address: string; attempt: number }
  | { type: 'connected'; address: string; connection: ServerConnection }
  | { type: 'disconnected'; address: string; error?: RpcxError }
  | { type: 'waiting'; address: string; attempt: number; delayMs: number }
  | { type: 'closed'; address: string };

/** The handle of {@link dialAndServe}. */
export class OutboundServing {
  readonly address: string;
  /** Called on every status change (also through `server` events for the connection itself). */
  onStatus: (s: OutboundStatus) => void = () => {};
  #conn: ServerConnection | undefined;
  #closed = false;
  #stop = new AbortController();
  #waiters: { resolve: (c: ServerConnection) => void; reject: (e: RpcxError) => void }[] = [];
  /** @internal */
  readonly done: Promise<void>;

  /** @internal */
  constructor(server: RpcxServer, address: string, options: DialAndServeOptions) {
    this.address = address.includes('@') ? address : `tcp@${address}`;
    if (options.onStatus !== undefined) this.onStatus = options.onStatus;
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.#closed = true;
      options.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
    // The server closing ends the serving too (its serveConnection would refuse every dial).
    const onServerClose = (): void => void this.close();
    server.once('close', onServerClose);
    this.done = this.#run(server, options).finally(() => server.off('close', onServerClose));
    this.done.catch(() => {});
  }

  /** The connection being served, while one is up. */
  get connection(): ServerConnection | undefined {
    return this.#conn !== undefined && this.#conn.isOpen ? this.#conn : undefined;
  }

  /** Resolves with the served connection once one is up (at once if one is). */
  connected(): Promise<ServerConnection> {
    const c = this.connection;
    if (c !== undefined) return Promise.resolve(c);
    if (this.#closed) return Promise.reject(new RpcxError(ErrorCode.CONNECTION, `serving to ${this.address} is closed`));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Stops dialling and closes the current connection. */
  async close(): Promise<void> {
    if (this.#closed && this.#stop.signal.aborted) return this.done.catch(() => {});
    this.#closed = true;
    this.#stop.abort(new RpcxError(ErrorCode.CANCELLED, 'closed'));
    this.#conn?.close();
    await this.done.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #run(server: RpcxServer, options: DialAndServeOptions): Promise<void> {
    const target = parseAddress(this.address);
    const b = options.backoff ?? {};
    let failures = 0;
    let attempt = 0;
    const dialOptions: DialOptions = { ...options };
    delete (dialOptions as { signal?: AbortSignal }).signal;
    delete (dialOptions as { backoff?: unknown }).backoff;
    delete (dialOptions as { onStatus?: unknown }).onStatus;
    try {
      while (!this.#closed) {
        attempt++;
        this.#emit({ type: 'connecting', address: this.address, attempt });
        let error: RpcxError | undefined;
        try {
          const socket = await dial(target, { ...dialOptions, signal: this.#stop.signal });
          const conn = server.serveConnection(socket);
          if (conn === undefined) throw new RpcxError(ErrorCode.CONNECTION, 'the server refused the connection (closed, or a plugin)');
          this.#conn = conn;
          failures = 0;
          this.#emit({ type: 'connected', address: this.address, connection: conn });
          for (const w of this.#waiters.splice(0)) w.resolve(conn);
          await conn.closed();
          error = conn.closeError;
          this.#conn = undefined;
        } catch (err) {
          error = RpcxError.from(err, ErrorCode.CONNECTION);
          failures++;
        }
        if (this.#closed) break;
        this.#emit(error === undefined ? { type: 'disconnected', address: this.address } : { type: 'disconnected', address: this.address, error });
        if (b.maxAttempts !== undefined && failures >= b.maxAttempts) {
          throw new RpcxError(ErrorCode.CONNECTION, `dialAndServe ${this.address}: gave up after ${failures} failed attempts`, error === undefined ? {} : { cause: error });
        }
        const base = Math.min(b.maxDelayMs ?? 10_000, (b.initialDelayMs ?? 100) * (b.multiplier ?? 2) ** Math.max(0, failures - 1));
        const jitter = b.jitter ?? 0.2;
        const delayMs = Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * Math.random())));
        this.#emit({ type: 'waiting', address: this.address, attempt, delayMs });
        await sleep(delayMs, this.#stop.signal);
      }
    } finally {
      this.#closed = true;
      const e = new RpcxError(ErrorCode.CONNECTION, `serving to ${this.address} is closed`);
      for (const w of this.#waiters.splice(0)) w.reject(e);
      this.#emit({ type: 'closed', address: this.address });
    }
  }

  #emit(s: OutboundStatus): void {
    try {
      this.onStatus(s);
    } catch (err) {
      log('dialAndServe onStatus threw: %O', err);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Reverse RPC, providing side: dials `address` (the caller, which listens with
 * `acceptClients`) and serves `server`'s services over that outgoing connection, as if the
 * caller had connected to it; when the connection breaks it dials again with backoff (reset
 * after a connection that was up), until `close()` or `signal`. The server needs no listener of
 * its own. Go rpcx has no counterpart (Go net/rpc: `rpc.ServeConn` on a dialled `net.Conn`).
 */
export function dialAndServe(server: RpcxServer, address: string, options: DialAndServeOptions = {}): OutboundServing {
  return new OutboundServing(server, address, options);
}
