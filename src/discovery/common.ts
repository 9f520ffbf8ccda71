/**
 * What the registry integrations (`rpcx/etcd`, `rpcx/redis`, `rpcx/zookeeper`) share: Go's
 * metadata encoding, the key checks, a backoff, and the two halves every registry has — a
 * server plugin that keeps `<basePath>/<service>/<network>@<address>` entries alive
 * ({@link RegistryPlugin}, Go's `XxxRegisterPlugin`) and a discovery that lists and watches
 * `<basePath>/<service>` ({@link RegistryDiscovery}, Go's `XxxDiscovery`). Each registry
 * subclasses both with its own store client; the layout rules are in
 * `shared/rpcx-deployment.md` §7.
 */
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { LatestFeed, type KVPair, type ServiceDiscovery, type ServiceDiscoveryFilter } from '../client/discovery.js';
import { parseQuery } from '../client/selectors.js';
import type { ServerPlugin } from '../server/plugins.js';

/** Debug namespace of every registry: `DEBUG=rpcx:discovery`. */
export const discoveryLog = createDebug('rpcx:discovery');

// ---------- Go's url.Values.Encode ----------

/** Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, every other byte `%XX` (upper case). */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += '+';
    } else {
      out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    }
  }
  return out;
}

/** Go's `url.Values.Encode`: keys sorted (by bytes), each value `key=value` in order, joined by `&`. */
export function goValuesEncode(values: ReadonlyMap<string, readonly string[]>): string {
  const keys = [...values.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const parts: string[] = [];
  for (const k of keys) {
    const ek = goQueryEscape(k);
    for (const v of values.get(k)!) parts.push(`${ek}=${goQueryEscape(v)}`);
  }
  return parts.join('&');
}

/**
 * The form a Go register plugin's ticker writes (`url.ParseQuery` then `Values.Encode`), written
 * from the first Put so the entry never changes shape. Metadata Go's `ParseQuery` rejects (a bad
 * `%` escape, a `;`) is kept as given: Go's ticker would silently drop those pairs.
 */
export function canonicalMetadata(metadata: string): string {
  const q = parseQuery(metadata);
  if (q.error) return metadata;
  return goValuesEncode(q.values);
}

/**
 * `metadata` with `key` set to `value` (`undefined` removes it), in canonical form
 * (Go: `v.Set(key, value)` then `Encode`).
 */
export function withMetadata(metadata: string, key: string, value: string | undefined): string {
  const q = parseQuery(metadata);
  if (value === undefined) q.values.delete(key);
  else q.values.set(key, [value]);
  return goValuesEncode(q.values);
}

// ---------- keys ----------

/** Networks a Go client can dial (`client/connection.go`), as they appear before `@`. */
const NETWORKS = new Set(['tcp', 'tcp4', 'tcp6', 'unix', 'http', 'ws', 'wss', 'quic', 'kcp', 'reuseport', 'memu', 'utp', 'iouring', 'rdma']);

/**
 * Whether a registry node name is a server key a client can use: `network@address` (or a bare
 * `host:port`, which Go treats as tcp) with a known network and, except for unix, a port.
 */
export function isServerKey(key: string): boolean {
  const at = key.indexOf('@');
  const network = at < 0 ? 'tcp' : key.slice(0, at);
  const address = at < 0 ? key : key.slice(at + 1);
  if (!NETWORKS.has(network) || address === '') return false;
  if (network === 'unix' || network === 'memu') return true;
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  return m !== null && Number(m[3]) <= 65535;
}

/** Drops (with a debug line) the pairs whose key is not a usable server key; later duplicates win. */
export function usablePairs(pairs: Iterable<KVPair>, where: string): KVPair[] {
  const byKey = new Map<string, string>();
  for (const p of pairs) {
    if (!isServerKey(p.key)) {
      discoveryLog('%s: skipped %j: not network@host:port', where, p.key);
      continue;
    }
    byKey.set(p.key, p.value);
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** Go's `fmt.Sprintf("%s/%s/...", parts...)`: joined by `/` exactly as given (no normalising, as Go's plugins). */
export function joinPath(...parts: string[]): string {
  return parts.join('/');
}

// ---------- backoff ----------

/** Retry delays: `initialMs` doubling up to `maxMs`, ±20% jitter. `reset()` after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 10_000,
  ) {}
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }
  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; the timer never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---------- server side ----------

/**
 * Runs `fn` for every item, at most `limit` at a time; resolves when all have finished, with the
 * failures (item, error) — one failing item never stops the others.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<Array<[T, unknown]>> {
  const failures: Array<[T, unknown]> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failures.push([item, err]);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return failures;
}

/** How many entries of one batch (start, tick, state change, stop) a register plugin writes at once. */
export const REGISTRY_BATCH_CONCURRENCY = 64;

/** Options every register plugin takes (Go: the fields of `EtcdV3RegisterPlugin` & co). */
export interface RegistryPluginOptions {
  /**
   * Go `BasePath`: the registry folder of this deployment, e.g. `/rpcx_test`. Written as given
   * (etcd and ZooKeeper keys are not normalised; Redis adds its own leading `/`, as libkv does).
   */
  basePath: string;
  /**
   * Go `ServiceAddress`: the key clients dial, `tcp@10.0.0.5:8972`. Default: the address the
   * server listens on (which is wrong for a wildcard host such as 0.0.0.0: set it then).
   */
  serviceAddress?: string;
  /**
   * Go `UpdateInterval`: how often every entry is re-written (its keep-alive where the registry
   * expires entries). Default 10 s. 0 turns the ticker off (then Redis entries never expire and
   * ZooKeeper nodes are persistent, as in Go).
   */
  updateIntervalMs?: number;
}

/**
 * The registry-independent half of a register plugin (Go: `EtcdV3RegisterPlugin`,
 * `RedisRegisterPlugin`, `ZooKeeperRegisterPlugin`): remembers each service's metadata, writes
 * the entries once the server listens, re-writes them every `updateIntervalMs`, rewrites them
 * when the server is marked inactive or its metadata changes, and removes them when the server
 * stops — before it stops reading, so clients stop sending first.
 *
 * Every store operation runs through one queue, so a tick can never re-write an entry that a
 * later unregister removed (Go's ticker races with `Unregister` and can resurrect a node).
 */
export abstract class RegistryPlugin implements ServerPlugin {
  abstract readonly name: string;
  readonly basePath: string;
  /** The key's `network@address`; set from the listening address unless configured. */
  serviceAddress: string | undefined;
  readonly updateIntervalMs: number;

  /** Service name → metadata as registered (without our `state` override). */
  protected readonly services = new Map<string, string>();
  #inactive = false;
  #started = false;
  #stopped = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: RegistryPluginOptions) {
    if (typeof options.basePath !== 'string') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'basePath is required');
    this.basePath = options.basePath;
    this.serviceAddress = options.serviceAddress;
    this.updateIntervalMs = options.updateIntervalMs ?? 10_000;
  }

  /** Connects the store client (called once, when the server listens). */
  protected abstract connect(): Promise<void>;
  /** Writes (or refreshes) one service's entry with this metadata. */
  protected abstract writeEntry(service: string, metadata: string): Promise<void>;
  /** Removes one service's entry. */
  protected abstract removeEntry(service: string): Promise<void>;
  /** Closes the store client (its session, lease or connection). */
  protected abstract disconnect(): Promise<void>;
  /** A tick: re-write the entry (its keep-alive). Default: {@link writeEntry}. */
  protected refreshEntry(service: string, metadata: string): Promise<void> {
    return this.writeEntry(service, metadata);
  }

  /** The path of a service's entry, `<basePath>/<service>/<network>@<address>`. */
  entryPath(service: string): string {
    return joinPath(this.basePath, service, this.serviceAddress ?? '?');
  }

  /** The metadata written for `service`: canonical form, with `state=inactive` while inactive. */
  entryMetadata(service: string): string {
    const m = canonicalMetadata(this.services.get(service) ?? '');
    return this.#inactive ? withMetadata(m, 'state', 'inactive') : m;
  }

  /** True once the entries are written and until the server stops. */
  get active(): boolean {
    return this.#started && !this.#stopped;
  }

  /** Runs `op` after every earlier store operation; its failure is logged and returned. */
  protected enqueue(what: string, op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(op);
    this.#queue = run.catch((err: unknown) => {
      discoveryLog('%s: %s failed: %s', this.name, what, err instanceof Error ? err.message : String(err));
    });
    return run;
  }

  /**
   * One queue entry that runs `op` for every service, {@link REGISTRY_BATCH_CONCURRENCY} at a
   * time (each service's key is distinct, so their order does not matter; what comes before
   * and after the batch in the queue still runs before and after all of it). Each failure is
   * logged; the batch rejects with the first one once every service has been tried.
   */
  protected enqueueBatch(what: string, services: readonly string[], op: (service: string) => Promise<void>): Promise<void> {
    if (services.length === 0) return Promise.resolve();
    return this.enqueue(`${what} (${services.length} services)`, async () => {
      const failures = await forEachLimit(services, REGISTRY_BATCH_CONCURRENCY, op);
      for (const [s, err] of failures) discoveryLog('%s: %s %s failed: %s', this.name, what, s, err instanceof Error ? err.message : String(err));
      if (failures.length > 0) throw failures[0]![1];
    });
  }

  register(name: string, metadata: string): Promise<void> {
    this.services.set(name, metadata);
    if (!this.active) return Promise.resolve();
    return this.enqueue(`register ${name}`, () => this.writeEntry(name, this.entryMetadata(name)));
  }

  unregister(name: string): Promise<void> {
    if (!this.services.delete(name) || !this.active) return Promise.resolve();
    return this.enqueue(`unregister ${name}`, () => this.removeEntry(name));
  }

  async serverListening(address: string): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.serviceAddress ??= address;
    await this.enqueue('connect', () => this.connect());
    this.#started = true;
    // A failed first write (the registry is away) does not fail serve: it is logged, and the ticker writes again.
    // One batch, written concurrently: 1,000 services one after the other took ~5 s on etcd.
    await this.enqueueBatch('register', [...this.services.keys()], (s) => this.writeEntry(s, this.entryMetadata(s))).catch(() => {});
    if (this.updateIntervalMs > 0) {
      this.#timer = setInterval(() => this.#tick(), this.updateIntervalMs);
      this.#timer.unref();
    }
  }

  #tick(): void {
    // A tick still waiting (the registry is slow or away) is not queued again: ticks must not pile up.
    if (!this.active || this.#ticking) return;
    this.#ticking = true;
    void this.enqueueBatch('refresh', [...this.services.keys()], (s) => (this.services.has(s) && this.active ? this.refreshEntry(s, this.entryMetadata(s)) : Promise.resolve()))
      .catch(() => {})
      .then(() => {
        this.#ticking = false;
      });
  }

  /**
   * Marks this server inactive (`state=inactive`: clients stop choosing it, in-flight calls
   * finish) or active again, rewriting every entry. Resolves when the registry has the change.
   */
  async setInactive(inactive: boolean): Promise<void> {
    this.#inactive = inactive;
    if (!this.active) return;
    await this.enqueueBatch('state', [...this.services.keys()], (s) => this.writeEntry(s, this.entryMetadata(s)));
  }

  /** Replaces a service's metadata (e.g. a new `weight`) and rewrites its entry. */
  async updateMetadata(service: string, metadata: string): Promise<void> {
    if (!this.services.has(service)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `service ${service} is not registered`);
    await this.register(service, metadata);
  }

  /** Removes every entry and closes the store client (Go: `Stop`). Called by the server on shutdown/close. */
  async serverStopping(): Promise<void> {
    if (this.#stopped) return;
    const wasStarted = this.#started;
    this.#stopped = true;
    clearInterval(this.#timer);
    if (wasStarted) {
      await this.enqueueBatch('unregister', [...this.services.keys()], (s) => this.removeEntry(s)).catch(() => {});
    }
    await this.enqueue('disconnect', () => this.disconnect()).catch(() => {});
  }

  /** Same as {@link serverStopping}, for a plugin used without a server. */
  stop(): Promise<void> {
    return this.serverStopping();
  }
}

// ---------- client side ----------

/**
 * A store connection shared by a discovery and its clones (Go's `Clone` shares the `kv`); closed
 * when the last user closes.
 */
export class SharedResource<T> {
  #refs = 1;
  constructor(
    readonly value: T,
    private readonly onClose: (value: T) => void | Promise<void>,
  ) {}
  retain(): this {
    this.#refs++;
    return this;
  }
  release(): void {
    if (--this.#refs === 0) void Promise.resolve(this.onClose(this.value)).catch((err: unknown) => discoveryLog('close: %O', err));
  }
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

function identityOf(v: object): string {
  let id = identities.get(v);
  if (id === undefined) {
    id = ++nextIdentity;
    identities.set(v, id);
  }
  return `#${id}`;
}

/**
 * A text that is equal for two option values exactly when they configure a connection the same
 * way: primitives and plain objects/arrays by content (object keys sorted, `undefined` members
 * left out), bytes by content, anything else (functions, class instances such as a client or a
 * TLS `SecureContext`) by identity. Nested deeper than 8 levels: by identity.
 */
export function optionsKey(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'undefined':
      return 'u';
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return `s:${String(v.description)}`;
    case 'function':
      return identityOf(v);
  }
  if (v === null) return 'null';
  const o = v as object;
  if (ArrayBuffer.isView(o)) return `b:${Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64')}`;
  if (depth >= 8) return identityOf(o);
  if (Array.isArray(o)) return `[${o.map((x) => optionsKey(x, depth + 1)).join(',')}]`;
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) return identityOf(o);
  const rec = o as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(rec).sort()) if (rec[k] !== undefined) parts.push(`${JSON.stringify(k)}:${optionsKey(rec[k], depth + 1)}`);
  return `{${parts.join(',')}}`;
}

/**
 * Registry connections shared process-wide, the way grpc-js shares subchannels through its
 * global subchannel pool: discoveries that reach the same registry with the same connection
 * options get one connection, reference-counted; the last user's `release()` closes it and
 * removes it from the pool, so the next discovery opens a new one.
 */
export class ConnectionPool<T> {
  readonly #entries = new Map<string, SharedResource<T>>();

  /** The pooled connection for `key` (retained), or a new one made by `make` and closed by `close`. */
  acquire(key: string, make: () => T, close: (value: T) => void | Promise<void>): SharedResource<T> {
    const found = this.#entries.get(key);
    if (found !== undefined) return found.retain();
    const shared: SharedResource<T> = new SharedResource(make(), (value) => {
      if (this.#entries.get(key) === shared) this.#entries.delete(key);
      return close(value);
    });
    this.#entries.set(key, shared);
    return shared;
  }

  /** How many connections are open in the pool. */
  get size(): number {
    return this.#entries.size;
  }
}

/** Options every discovery takes. */
export interface RegistryDiscoveryOptions {
  /** How long `getServices()` waits for the first list from the registry before answering with none (default 5,000 ms); the watch delivers it later. */
  initialWaitMs?: number;
  /**
   * Share the registry connection with every other discovery of this process that reaches the
   * same registry with the same connection options (default true), and share one watch and one
   * read per change among the discoveries of the same service: N discoveries of a service cost
   * one connection and one read per change instead of N. Each discovery keeps its own filter,
   * watchers and `close()`; the connection closes with its last user. `false` gives this
   * discovery (and its clones) a connection of its own, as Go's discoveries each have.
   */
  shareConnection?: boolean;
}

/**
 * The shared watches of one registry connection, one per service (and per settings that change
 * how it watches), made on first use and stopped once the last discovery of it has left; the
 * etcd, Redis and ZooKeeper connections each keep their service watches in one.
 */
export class ServiceWatches<W extends { readonly size: number; stop(): void }> {
  readonly #byKey = new Map<string, W>();
  readonly #keys = new Map<W, string>();

  /** The watch under `key`, made by `create` if there is none. */
  get(key: string, create: () => W): W {
    let w = this.#byKey.get(key);
    if (w === undefined) {
      w = create();
      this.#byKey.set(key, w);
      this.#keys.set(w, key);
    }
    return w;
  }

  /** A discovery of `w` closed (and unsubscribed): stops `w` once nobody listens to it. */
  release(w: W): void {
    if (w.size > 0) return;
    const key = this.#keys.get(w);
    if (key !== undefined) this.#byKey.delete(key);
    this.#keys.delete(w);
    w.stop();
  }

  /** Stops every watch (the connection closes). */
  stopAll(): void {
    for (const w of this.#byKey.values()) w.stop();
    this.#byKey.clear();
    this.#keys.clear();
  }
}

/**
 * The last raw list of one watched service (before any discovery's filter) and the discoveries
 * it feeds: one watch and one read per change however many discoveries of the service a
 * connection serves. A new subscriber gets the current list on a microtask (after its creator
 * could call `setFilter`).
 */
export class ServiceFeed {
  readonly #subscribers = new Set<(pairs: readonly KVPair[]) => void>();
  #current: readonly KVPair[] | undefined;

  /** Whether a list has been published yet. */
  get hasList(): boolean {
    return this.#current !== undefined;
  }

  /** How many discoveries it feeds. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Calls `l` with every list from now on (and the current one, if any, on a microtask); returns the unsubscribe. */
  subscribe(l: (pairs: readonly KVPair[]) => void): () => void {
    const entry = (pairs: readonly KVPair[]): void => l(pairs);
    this.#subscribers.add(entry);
    if (this.#current !== undefined) {
      queueMicrotask(() => {
        if (this.#subscribers.has(entry) && this.#current !== undefined) entry(this.#current);
      });
    }
    return () => {
      this.#subscribers.delete(entry);
    };
  }

  /** Publishes a new complete list to every subscriber. */
  publish(pairs: readonly KVPair[]): void {
    this.#current = pairs;
    for (const l of [...this.#subscribers]) l(pairs);
  }
}

/**
 * The registry-independent half of a discovery (Go: `EtcdV3Discovery` & co): the last known
 * server list, its watchers, the filter, and `getServices()` waiting for the first list. A
 * subclass keeps the list current by calling {@link setPairs} — after every change it sees and
 * after every resync — and never empties it because the registry is unreachable: while it is,
 * clients keep the last list.
 */
export abstract class RegistryDiscovery implements ServiceDiscovery {
  #pairs: readonly KVPair[] = [];
  #known = false;
  #filter: ServiceDiscoveryFilter | undefined;
  readonly #feeds = new Set<LatestFeed>();
  #firstList: { promise: Promise<void>; resolve: () => void };
  readonly #initialWaitMs: number;
  /** Aborted by {@link close}: stops the subclass's loops. */
  protected readonly closed = new AbortController();
  /** Undoes {@link follow} on close. */
  #unfollow: (() => void) | undefined;

  constructor(
    readonly basePath: string,
    readonly servicePath: string,
    options: RegistryDiscoveryOptions = {},
  ) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstList = { promise, resolve };
    this.#initialWaitMs = options.initialWaitMs ?? 5_000;
  }

  #servicePrefix: string | undefined;

  /** The folder watched: `<basePath>/<servicePath>` (computed once: it is read on every event). */
  get servicePrefix(): string {
    return (this.#servicePrefix ??= joinPath(this.basePath, this.servicePath));
  }

  /** Publishes a new complete list (keys `network@address`): bad keys skipped, filter applied, watchers told if it changed. */
  protected setPairs(pairs: Iterable<KVPair>): void {
    if (this.closed.signal.aborted) return;
    let next = usablePairs(pairs, this.servicePrefix);
    if (this.#filter !== undefined) next = next.filter(this.#filter);
    next.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const first = !this.#known;
    this.#known = true;
    this.#firstList.resolve();
    if (!first && samePairs(next, this.#pairs)) return;
    this.#pairs = next;
    if (discoveryLog.enabled) discoveryLog('%s: %d server(s)', this.servicePrefix, next.length);
    for (const f of this.#feeds) f.offer(next);
  }

  /** Whether a list has been read from the registry yet. */
  get hasList(): boolean {
    return this.#known;
  }

  async getServices(): Promise<readonly KVPair[]> {
    if (!this.#known) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#firstList.promise,
        new Promise<void>((r) => {
          timer = setTimeout(r, this.#initialWaitMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    return this.#pairs;
  }

  watch(): AsyncIterable<readonly KVPair[]> {
    const feed = new LatestFeed((f) => this.#feeds.delete(f));
    if (this.closed.signal.aborted) feed.end();
    else this.#feeds.add(feed);
    return { [Symbol.asyncIterator]: () => feed };
  }

  /** Go's `ServiceDiscoveryFilter`: applied to every list from now on. */
  setFilter(filter: ServiceDiscoveryFilter): void {
    this.#filter = filter;
  }

  abstract clone(servicePath: string): ServiceDiscovery;

  /**
   * Publishes every list of `watch` (the shared watch of this service on the shared connection
   * `shared`); {@link close} unsubscribes, gives the watch back and releases the connection.
   */
  protected follow<W extends { subscribe(l: (pairs: readonly KVPair[]) => void): () => void }>(shared: { readonly value: { releaseWatch(w: W): void }; release(): void }, watch: W): void {
    const unsubscribe = watch.subscribe((pairs) => this.setPairs(pairs));
    this.#unfollow = () => {
      unsubscribe();
      shared.value.releaseWatch(watch);
      shared.release();
    };
  }

  /** Stops watching and ends every watcher; the shared store connection closes with its last user. */
  close(): void {
    if (this.closed.signal.aborted) return;
    this.closed.abort();
    for (const f of [...this.#feeds]) f.end();
    this.#firstList.resolve();
    this.#unfollow?.();
    this.#unfollow = undefined;
  }
}

function samePairs(a: readonly KVPair[], b: readonly KVPair[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.key !== b[i]!.key || a[i]!.value !== b[i]!.value) return false;
  return true;
}

/**
 * Parses a registry URL as the `rpcx` command and `npm start -- --registry` take it:
 * `etcd://h1:2379,h2:2379/basePath`, `redis://h:6379/basePath`, `zk://h:2181/basePath`.
 */
export function parseRegistryUrl(url: string): { scheme: string; hosts: string[]; basePath: string } {
  const m = /^([a-z0-9+]+):\/\/([^/]*)(\/.*)?$/i.exec(url);
  if (m === null || m[2] === '') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `bad registry URL ${JSON.stringify(url)}: want scheme://host:port[,host:port]/basePath`);
  return { scheme: m[1]!.toLowerCase(), hosts: m[2]!.split(','), basePath: m[3] ?? '/rpcx' };
}
