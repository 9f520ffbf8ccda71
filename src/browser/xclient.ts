// A browser XClient (Go rpcx: `client.XClient` over `ws`/`wss` servers): one service, a list of
// servers, a BrowserClient per server made on first use, Go's select modes, fail modes and
// fan-out. Portable: no `node:` imports; the selectors are the Node XClient's (selectors.ts).
// The list is given (a browser has no registry client); `setServers` replaces it, e.g. from a
// config endpoint, with each server's metadata if weights, groups or positions are wanted.
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import { FailMode, SelectMode, XCLIENT_NO_SERVER, settleFanOut, type Receipt } from '../client/fail-mode.js';
import { ConsistentHashSelector, GeoSelector, RandomSelector, RoundRobinSelector, WeightedRoundRobinSelector, filterByStateAndGroup, type Selector, type ServerMap } from '../client/selectors.js';
import type { GoFormatOptions } from '../client/gofmt.js';
import { createProxy, type ServiceProxy } from '../client/proxy.js';
import { toMetadataMap, type Message } from '../protocol/message.js';
import { BrowserClient, type BrowserCallOptions, type BrowserClientOptions, type BrowserClientStatus } from './client.js';

/**
 * The servers of a {@link BrowserXClient}: `ws@host:port` / `wss@host:port` keys (or `ws://` /
 * `wss://` URLs), alone or with their metadata as Go's registries hold it (a URL query:
 * `weight=3&group=a&state=inactive&latitude=..&longitude=..`), as Go's
 * `MultipleServersDiscovery` takes `KVPair{Key, Value}`s.
 */
export type BrowserServers = readonly string[] | ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** Options of {@link BrowserXClient}: those of each {@link BrowserClient}, plus Go's XClient choices. */
export interface BrowserXClientOptions extends BrowserClientOptions {
  /**
   * Go's select modes: `RandomSelect` (default), `RoundRobin`, `WeightedRoundRobin` (metadata
   * `weight`), `ConsistentHash` (Go's key and jump hash: the same server as a Go XClient for the
   * same servers and args), `Closest` (metadata `latitude`/`longitude`, with option `geo`) and
   * `SelectByUser` (option `selector`). `WeightedICMP` measures TCP round trips: Node only.
   */
  selectMode?: SelectMode;
  /** The selector of `SelectByUser` (Go: `XClient.SetSelector`). */
  selector?: Selector;
  /** ConsistentHash key: Go `%v` options for the args, or a function giving the key string or 64-bit key (as the Node XClient's). */
  hashKey?: GoFormatOptions | ((servicePath: string, serviceMethod: string, args: unknown) => string | bigint);
  /** The client's position for `Closest` (Go: `XClient.ConfigGeoSelector`). */
  geo?: { latitude: number; longitude: number };
  /** Keep only servers whose metadata `group` includes this (Go: `Option.Group`); servers with `state=inactive` are always left out. */
  group?: string;
  /** `FailMode.Failover` (Go's default), `Failfast`, `Failtry` or `Failbackup`. */
  failMode?: FailMode;
  /** Further attempts after a failed one, Failover and Failtry (Go: `Option.Retries`, default 3). */
  retries?: number;
  /** Failbackup: send the backup request after this many ms (Go: `Option.BackupLatency`, default 10). */
  backupLatencyMs?: number;
  /** Cap of broadcast/fork/inform in ms (Go: one minute). */
  fanOutTimeoutMs?: number;
}

/** A status of one of the XClient's connections, with the server it is about. */
export type BrowserXClientStatus = BrowserClientStatus & { server: string };

const SELECT_MODES: readonly SelectMode[] = [SelectMode.RandomSelect, SelectMode.RoundRobin, SelectMode.WeightedRoundRobin, SelectMode.ConsistentHash, SelectMode.Closest, SelectMode.SelectByUser];
const noop = (): void => {};

/**
 * Calls one service on a list of servers (Go: `client.NewXClient(servicePath, failMode,
 * selectMode, discovery, option)` with a `MultipleServersDiscovery`). Go's fail modes:
 * **Failover** retries on a server selected again, **Failtry** on the same server, up to
 * `retries` more times; **Failfast** tries once; **Failbackup** sends a second request to a
 * server selected again when the first has not finished within `backupLatencyMs`, and the first
 * to finish wins. As in Go, a service error (the server answered with an error), a timeout and a
 * cancellation are never retried; what is retried are failures to reach a server or connections
 * that drop. {@link broadcast}, {@link fork} and {@link inform} call every server. Pushes of
 * every server reach `onMessage`.
 */
export class BrowserXClient {
  readonly servicePath: string;
  readonly #options: BrowserXClientOptions;
  readonly #clients = new Map<string, BrowserClient>();
  readonly #pushListeners = new Set<(m: Message, server: string) => void>();
  readonly #statusListeners = new Set<(s: BrowserXClientStatus) => void>();
  readonly #selectMode: SelectMode;
  readonly #failMode: FailMode;
  #servers: Map<string, string> = new Map();
  #selector: Selector | undefined;
  #closed = false;

  constructor(servicePath: string, servers: BrowserServers, options: BrowserXClientOptions = {}) {
    const failMode = options.failMode ?? FailMode.Failover;
    if (!Object.values(FailMode).includes(failMode)) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `BrowserXClient: unknown fail mode ${String(failMode)}`);
    }
    const selectMode = options.selectMode ?? SelectMode.RandomSelect;
    if (!SELECT_MODES.includes(selectMode)) {
      const why = selectMode === SelectMode.WeightedICMP ? ' (WeightedICMP measures TCP round trips: Node only)' : '';
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `BrowserXClient: select mode ${String(selectMode)} is not supported${why}`);
    }
    if (selectMode === SelectMode.SelectByUser && options.selector === undefined) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'BrowserXClient: SelectByUser needs the selector option');
    }
    if (selectMode === SelectMode.Closest && options.geo === undefined) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'BrowserXClient: Closest needs the geo option (the client position)');
    }
    this.servicePath = servicePath;
    this.#options = options;
    this.#selectMode = selectMode;
    this.#failMode = failMode;
    this.setServers(servers);
  }

  /** The servers calls go to (after the `state` and `group` filters), in selection order. */
  get servers(): readonly string[] {
    return [...this.#servers.keys()];
  }

  /** The servers with their metadata, as the selector sees them. */
  get serverMap(): ReadonlyMap<string, string> {
    return this.#servers;
  }

  /**
   * Replaces the server list (Go: `MultipleServersDiscovery.Update`); connections to servers no
   * longer listed are closed. As Go's XClient does, the servers are sorted by key and those whose
   * metadata says `state=inactive`, or whose `group` does not include the `group` option, are
   * left out.
   */
  setServers(servers: BrowserServers): void {
    const pairs: [string, string][] = Array.isArray(servers)
      ? (servers as readonly string[]).map((k) => [k, ''])
      : servers instanceof Map
        ? [...(servers as ReadonlyMap<string, string>)]
        : Object.entries(servers as Readonly<Record<string, string>>);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const map = new Map(pairs);
    filterByStateAndGroup(this.#options.group ?? '', map);
    this.#servers = map;
    for (const [server, c] of this.#clients) {
      if (!map.has(server)) {
        this.#clients.delete(server);
        c.close();
      }
    }
    if (this.#selector === undefined) this.#selector = this.#newSelector(map);
    else this.#selector.updateServer(map);
  }

  /** Calls `serviceMethod` on a selected server and resolves with the decoded reply (Go: `XClient.Call`). */
  async call<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.callWithMetadata<T>(serviceMethod, args, options)).reply;
  }

  /** As {@link call}, with the response metadata. */
  callWithMetadata<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<{ reply: T; metadata: Map<string, string> }> {
    return this.#withFailMode(serviceMethod, args, options, (c, o) => c.callWithMetadata<T>(this.servicePath, serviceMethod, args, o));
  }

  /** A oneway request to a selected server (Go: `XClient.Oneshot`); fails over as a call does when the server can not be reached. */
  oneway(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<void> {
    return this.#withFailMode(serviceMethod, args, options, (c, o) => c.oneway(this.servicePath, serviceMethod, args, o));
  }

  /**
   * Calls every server; resolves to a reply once all succeeded, rejects with a
   * {@link MultiError} at the first failure (Go: `XClient.Broadcast`). Servers whose WebSocket
   * can not be opened are skipped, as Go skips servers it can not connect; with none left it
   * rejects with CONNECTION `can not found any server`.
   */
  async broadcast<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.#fanOut<T>('broadcast', serviceMethod, args, options)) as T;
  }

  /** Calls every server; resolves to the first success, rejects with a {@link MultiError} when all failed (Go: `XClient.Fork`). */
  async fork<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.#fanOut<T>('fork', serviceMethod, args, options)) as T;
  }

  /** Calls every server and waits for all; one receipt per server called, in the order they finished (Go: `XClient.Inform`). */
  async inform<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<Receipt<T>[]> {
    return (await this.#fanOut<T>('inform', serviceMethod, args, options)) as Receipt<T>[];
  }

  /** A typed proxy: `xc.service<Arith>().Mul({ A: 2, B: 3 })` calls `Mul` through this XClient. */
  service<T extends object>(): ServiceProxy<T, BrowserCallOptions> {
    return createProxy<T, BrowserCallOptions>(this);
  }

  /** Calls `fn` with every push of every server, and the server it came from; returns an unsubscribe function. */
  onMessage(fn: (m: Message, server: string) => void): () => void {
    this.#pushListeners.add(fn);
    return () => this.#pushListeners.delete(fn);
  }

  /** Calls `fn` on every connection state change of every server; returns an unsubscribe function. */
  onStatus(fn: (s: BrowserXClientStatus) => void): () => void {
    this.#statusListeners.add(fn);
    return () => this.#statusListeners.delete(fn);
  }

  /** Closes every connection; later calls fail with CONNECTION. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #newSelector(servers: ServerMap): Selector {
    const o = this.#options;
    switch (this.#selectMode) {
      case SelectMode.RoundRobin:
        return new RoundRobinSelector(servers);
      case SelectMode.WeightedRoundRobin:
        return new WeightedRoundRobinSelector(servers);
      case SelectMode.ConsistentHash:
        return new ConsistentHashSelector(servers, o.hashKey);
      case SelectMode.Closest:
        return new GeoSelector(servers, o.geo!.latitude, o.geo!.longitude);
      case SelectMode.SelectByUser:
        o.selector!.updateServer(servers);
        return o.selector!;
      default:
        return new RandomSelector(servers);
    }
  }

  #select(serviceMethod: string, args: unknown, options: BrowserCallOptions): string | undefined {
    if (this.#servers.size === 0) return undefined;
    const ctx = options.metadata === undefined ? {} : { metadata: toMetadataMap(options.metadata) };
    const k = this.#selector!.select(this.servicePath, serviceMethod, args, ctx);
    return k === '' ? undefined : k;
  }

  #client(server: string): BrowserClient {
    let c = this.#clients.get(server);
    if (c === undefined) {
      c = new BrowserClient(server, this.#options);
      c.onMessage((m) => {
        for (const fn of [...this.#pushListeners]) fn(m, server);
      });
      c.onStatus((s) => {
        for (const fn of [...this.#statusListeners]) fn({ ...s, server });
      });
      this.#clients.set(server, c);
    }
    return c;
  }

  #checkOpen(): void {
    if (this.#closed) throw new RpcxError(ErrorCode.CONNECTION, `xclient for ${this.servicePath} is closed`);
  }

  async #withFailMode<R>(serviceMethod: string, args: unknown, options: BrowserCallOptions, attempt: (c: BrowserClient, o: BrowserCallOptions) => Promise<R>): Promise<R> {
    this.#checkOpen();
    const failMode = this.#failMode;
    if (failMode === FailMode.Failbackup) return this.#failbackup(serviceMethod, args, options, attempt);
    const retries = failMode === FailMode.Failfast ? 0 : Math.max(0, this.#options.retries ?? 3);
    let server = this.#select(serviceMethod, args, options);
    let last: unknown;
    for (let i = 0; i <= retries; i++) {
      if (server === undefined) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER);
      try {
        return await attempt(this.#client(server), options);
      } catch (err) {
        if (!retryable(err)) throw err;
        last = err;
      }
      if (this.#closed) break;
      if (failMode === FailMode.Failover) server = this.#select(serviceMethod, args, options);
      else if (!this.#servers.has(server)) server = undefined;
    }
    throw last;
  }

  /**
   * Go's Failbackup: one request; if it has not finished within `backupLatencyMs`, a second on
   * a server selected again; whichever finishes first wins, error or not, and the other is
   * cancelled. With no server for the backup, the first request decides alone.
   */
  async #failbackup<R>(serviceMethod: string, args: unknown, options: BrowserCallOptions, attempt: (c: BrowserClient, o: BrowserCallOptions) => Promise<R>): Promise<R> {
    const first = this.#select(serviceMethod, args, options);
    if (first === undefined) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER);
    const { signal, release } = linkedSignal(options.signal);
    const o = { ...options, signal };
    try {
      const p1 = attempt(this.#client(first), o);
      p1.catch(noop);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const backup = new Promise<'backup'>((resolve) => {
        timer = setTimeout(() => resolve('backup'), this.#options.backupLatencyMs ?? 10);
      });
      const r = await Promise.race([p1.then((v) => ({ v }), (err: unknown) => ({ err })), backup]);
      clearTimeout(timer);
      if (r !== 'backup') {
        if ('err' in r) throw r.err;
        return r.v;
      }
      const second = this.#select(serviceMethod, args, options);
      if (second === undefined || this.#closed) return await p1;
      const p2 = attempt(this.#client(second), o);
      p2.catch(noop);
      return await Promise.race([p1, p2]);
    } finally {
      release(new RpcxError(ErrorCode.CANCELLED, 'context canceled'));
    }
  }

  async #fanOut<T>(kind: 'broadcast' | 'fork' | 'inform', serviceMethod: string, args: unknown, options: BrowserCallOptions): Promise<T | Receipt<T>[]> {
    this.#checkOpen();
    const keys = [...this.#servers.keys()];
    const opened = await Promise.all(
      keys.map((k) => {
        const c = this.#client(k);
        return c.open().then(
          () => [k, c] as const,
          () => undefined,
        );
      }),
    );
    const clients = opened.filter((x): x is readonly [string, BrowserClient] => x !== undefined);
    if (clients.length === 0) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER);
    const { signal, release } = linkedSignal(options.signal);
    let capped = false;
    const capTimer = setTimeout(() => {
      capped = true;
      release(new RpcxError(ErrorCode.TIMEOUT, 'context deadline exceeded'));
    }, this.#options.fanOutTimeoutMs ?? 60_000);
    const o = { ...options, signal };
    try {
      return await settleFanOut<T>(kind, clients.map(([k, c]) => [k, c.call<T>(this.servicePath, serviceMethod, args, o)] as const), () => capped);
    } finally {
      clearTimeout(capTimer);
      // Go: the deferred cancel of the fan-out ctx abandons the calls still in flight.
      release(new RpcxError(ErrorCode.CANCELLED, 'context canceled'));
    }
  }
}

/** An AbortSignal that follows `outer` and that `release(reason)` aborts (and unhooks from `outer`). */
function linkedSignal(outer: AbortSignal | undefined): { signal: AbortSignal; release: (reason: unknown) => void } {
  const ac = new AbortController();
  const follow = (): void => ac.abort(outer!.reason);
  if (outer !== undefined) {
    if (outer.aborted) ac.abort(outer.reason);
    else outer.addEventListener('abort', follow, { once: true });
  }
  return {
    signal: ac.signal,
    release: (reason) => {
      outer?.removeEventListener('abort', follow);
      if (!ac.signal.aborted) ac.abort(reason);
    },
  };
}

/** Go's XClient retries neither service errors nor a caller's timeout or cancel. */
function retryable(err: unknown): boolean {
  if (err instanceof ServiceError) return false;
  if (err instanceof RpcxError) return err.code !== ErrorCode.TIMEOUT && err.code !== ErrorCode.CANCELLED && err.code !== ErrorCode.CODEC && err.code !== ErrorCode.INVALID_ARGUMENT;
  return false;
}
