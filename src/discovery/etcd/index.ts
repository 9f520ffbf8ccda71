/**
 * etcd v3 registry (`rpcx/etcd`), interoperating with Go's `github.com/rpcxio/rpcx-etcd`
 * v0.5.0: {@link EtcdV3RegisterPlugin} (Go `serverplugin.EtcdV3RegisterPlugin`) registers a
 * server's services, {@link EtcdV3Discovery} (Go `client.NewEtcdV3Discovery`) lets an XClient
 * find and watch them. Needs the optional peer dependency `etcd3`.
 *
 * Layout, as Go writes it (keys verbatim, never normalised; values raw):
 * - `<basePath>` = `rpcx_path`
 * - `<basePath>/<service>` = `<service>`
 * - `<basePath>/<service>/<network>@<host:port>` = the service's metadata (a URL query)
 *
 * every key Put with the one lease of the plugin (TTL 30 s, Go's `defaultTTL`), kept alive
 * until the server stops.
 */
import { Etcd3, EtcdLeaseInvalidError, isRecoverableError, type IOptions, type Lease } from 'etcd3';
import { ErrorCode, RpcxError } from '../../errors.js';
import type { ServiceDiscovery } from '../../client/discovery.js';
import {
  Backoff,
  ConnectionPool,
  REGISTRY_BATCH_CONCURRENCY,
  RegistryDiscovery,
  RegistryPlugin,
  ServiceFeed,
  ServiceWatches,
  SharedResource,
  discoveryLog,
  forEachLimit,
  joinPath,
  optionsKey,
  sleep,
  type RegistryDiscoveryOptions,
  type RegistryPluginOptions,
} from '../common.js';

/** Go's `defaultTTL` of rpcx-etcd's store (`store/etcdv3/etcdv3.go`): the lease every entry is on. */
export const DEFAULT_LEASE_TTL_SECONDS = 30;

/** Options of {@link EtcdV3RegisterPlugin} and {@link EtcdV3Discovery} naming the etcd to use. */
export interface EtcdConnectionOptions {
  /**
   * Go `EtcdServers` / `etcdAddr`: the members, `host:port` (`127.0.0.1:2379`). The plugin or
   * discovery creates its own client and closes it when done. Give this or `client`.
   */
  hosts?: readonly string[];
  /** An `etcd3` client to use instead of `hosts`; the caller owns it (it is never closed here). */
  client?: Etcd3;
  /** More `etcd3` options for a client made from `hosts` (TLS, auth, gRPC options). */
  etcdOptions?: Omit<IOptions, 'hosts'>;
  /** Deadline of each etcd request in ms (Go: the store's 10 s `timeout`). Default 5,000. */
  requestTimeoutMs?: number;
}

/** Options of {@link EtcdV3RegisterPlugin}. */
export interface EtcdV3RegisterPluginOptions extends RegistryPluginOptions, EtcdConnectionOptions {
  /**
   * TTL in seconds of the lease every entry is attached to. Default 30, as Go (whatever
   * `UpdateInterval` is). A killed server's entries disappear when it runs out; a shorter TTL
   * makes that faster but differs from Go.
   */
  leaseTtlSeconds?: number;
}

/** Backoff of the etcd3 watch stream reconnects: 100 ms doubling to 2 s (etcd3's default climbs to 30 s). */
class WatchBackoff {
  constructor(readonly duration = 100) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(2000, this.duration * 2));
  }
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/**
 * Per-host circuit breaker for the clients made here: after 3 consecutive connection failures
 * a host is skipped for 500 ms (etcd3's default skips it for 5 s, which delays every re-register
 * and resync by as much after etcd comes back). The connection pool only calls `execute`.
 */
class QuickBreaker {
  #failures = 0;
  #openUntil = 0;
  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.#openUntil) throw new Error('etcd host skipped for a moment after failures');
    try {
      const r = await fn({ signal: new AbortController().signal });
      this.#failures = 0;
      return r;
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err) && ++this.#failures >= 3) {
        this.#failures = 0;
        this.#openUntil = Date.now() + 500;
      }
      throw err;
    }
  }
}

function makeClient(options: EtcdConnectionOptions, who: string): { client: Etcd3; owned: boolean } {
  if (options.client !== undefined) return { client: options.client, owned: false };
  const hosts = options.hosts;
  if (hosts === undefined || hosts.length === 0) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${who}: give hosts or client`);
  const extra = options.etcdOptions ?? {};
  return {
    client: new Etcd3({
      dialTimeout: 3000,
      ...extra,
      hosts: [...hosts],
      faultHandling: { watchBackoff: new WatchBackoff(), host: () => new QuickBreaker() as unknown as HostPolicy, ...extra.faultHandling },
    }),
    owned: true,
  };
}

const deadline = (ms: number): { deadline: number } => ({ deadline: Date.now() + ms });

/**
 * Registers this server's services in etcd v3 (Go: `serverplugin.EtcdV3RegisterPlugin` of
 * rpcx-etcd v0.5.0), entry for entry as Go does: the same keys (verbatim), raw metadata as the
 * value, one lease (TTL 30 s) kept alive and attached to every Put, `<basePath>` written when it
 * starts. Add it to a server before `serve`:
 *
 * ```ts
 * const plugin = new EtcdV3RegisterPlugin({ hosts: ['127.0.0.1:2379'], basePath: '/rpcx_test', updateIntervalMs: 10_000 });
 * server.plugins.add(plugin);
 * server.register(new Arith(), { metadata: 'weight=10' });
 * await server.serve('tcp', '127.0.0.1:8972');
 * ```
 *
 * Better than Go: each entry is written when the service registers (Go writes the previous
 * service's paths and the node only appears at the next tick), in the canonical form Go's ticker
 * rewrites it to (so it never changes shape), metadata changes and `setInactive` land at once
 * (Go re-merges the old value), ticks cannot resurrect a removed entry, and a lost lease (etcd
 * away longer than its TTL) is granted again and every entry rewritten on it.
 */
export class EtcdV3RegisterPlugin extends RegistryPlugin {
  readonly name = 'EtcdV3RegisterPlugin';
  readonly leaseTtlSeconds: number;
  readonly #options: EtcdV3RegisterPluginOptions;
  readonly #timeoutMs: number;
  #client: Etcd3 | undefined;
  #owned = false;
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  /** Services whose three paths were all written on the current lease. */
  readonly #complete = new Set<string>();
  /** The grant in flight: the entries of a batch are written concurrently and must share one lease. */
  #granting: Promise<void> | undefined;

  constructor(options: EtcdV3RegisterPluginOptions) {
    super(options);
    if (options.client === undefined && (options.hosts === undefined || options.hosts.length === 0)) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'EtcdV3RegisterPlugin: give hosts or client');
    }
    const ttl = options.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `EtcdV3RegisterPlugin: leaseTtlSeconds must be a whole number >= 1, got ${ttl}`);
    this.leaseTtlSeconds = ttl;
    this.#options = options;
    this.#timeoutMs = options.requestTimeoutMs ?? 5000;
  }

  /** The etcd lease ID (decimal string) the entries are on, once connected. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /**
   * Makes the client, grants the lease and puts `<basePath>` (Go: `Start`). If etcd cannot be
   * reached the server still starts: the failure is logged and each tick tries again, writing
   * every entry in full once etcd answers.
   */
  protected async connect(): Promise<void> {
    const { client, owned } = makeClient(this.#options, this.name);
    this.#client = client;
    this.#owned = owned;
    try {
      await this.#ensureLease();
      // Go: Start puts <basePath> = "rpcx_path" (on the lease, like every Put of the store).
      await this.#put(this.basePath, 'rpcx_path');
    } catch (err) {
      discoveryLog('%s: etcd not reachable at start (will retry each tick): %s', this.name, err instanceof Error ? err.message : String(err));
    }
  }

  async #grant(): Promise<void> {
    const client = this.#client!;
    const lease = client.lease(this.leaseTtlSeconds, { autoKeepAlive: true, ...deadline(this.#timeoutMs) });
    lease.on('lost', (err) => {
      if (this.#lease !== lease || !this.active) return;
      discoveryLog('%s: lease %s lost (%s); granting a new one', this.name, this.#leaseId, err.message);
      void this.enqueue('re-grant', () => this.#regrant(lease)).catch(() => {});
    });
    // keepalive errors are retried by etcd3; a lost lease is handled above
    // (etcd3 emits the error here, typed as a response)
    lease.on('keepaliveFailed', (err) => discoveryLog('%s: keepalive failed: %s', this.name, (err as unknown as Error).message));
    try {
      this.#leaseId = await lease.grant();
    } catch (err) {
      lease.release();
      throw err;
    }
    this.#lease = lease;
  }

  /** The lease, granted if there is none (one grant however many writes wait for it). */
  #ensureLease(): Promise<void> {
    if (this.#lease !== undefined) return Promise.resolve();
    this.#granting ??= this.#grant().finally(() => {
      this.#granting = undefined;
    });
    return this.#granting;
  }

  /** A new lease and every entry written again on it (once per lost lease; concurrent callers wait for the same new lease). */
  async #regrant(lost: Lease): Promise<void> {
    if (this.#lease !== lost) return this.#ensureLease();
    lost.release();
    this.#lease = undefined;
    this.#complete.clear();
    await this.#ensureLease();
    const failures = await forEachLimit([...this.services.keys()], REGISTRY_BATCH_CONCURRENCY, (s) => this.writeEntry(s, this.entryMetadata(s)));
    if (failures.length > 0) throw failures[0]![1];
  }

  /** Put `key` = `value` on the lease; a lease etcd no longer knows is granted again and the Put retried. */
  async #put(key: string, value: string): Promise<void> {
    await this.#ensureLease();
    const lease = this.#lease!;
    try {
      await this.#client!.put(key).value(value).lease(this.#leaseId!).options(deadline(this.#timeoutMs)).exec();
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      await this.#regrant(lease);
      if (this.#lease !== lease) await this.#client!.put(key).value(value).lease(this.#leaseId!).options(deadline(this.#timeoutMs)).exec();
    }
  }

  /**
   * Go's `register()` paths: `<basePath>`, `<basePath>/<service>`, then the node — the same three
   * Puts on the lease, but in one transaction: one round trip and one raft entry instead of three
   * in a row, so the node appears two commits sooner (the compare is always true: a missing key
   * compares as mod revision 0).
   */
  async #writeAll(service: string, metadata: string): Promise<void> {
    await this.#ensureLease();
    const lease = this.#lease!;
    const run = async (): Promise<void> => {
      const c = this.#client!;
      const id = this.#leaseId!;
      await c
        .if(this.basePath, 'Mod', '>', -1)
        .then(c.put(this.basePath).value('rpcx_path').lease(id), c.put(joinPath(this.basePath, service)).value(service).lease(id), c.put(this.entryPath(service)).value(metadata).lease(id))
        .options(deadline(this.#timeoutMs))
        .commit();
    };
    try {
      await run();
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      await this.#regrant(lease);
      if (this.#lease !== lease) await run();
    }
  }

  protected async writeEntry(service: string, metadata: string): Promise<void> {
    this.#complete.delete(service);
    await this.#writeAll(service, metadata);
    this.#complete.add(service);
  }

  /** Go's ticker: re-Put the node (on the lease); all of Go's paths if they were never written in full (etcd was away). */
  protected override refreshEntry(service: string, metadata: string): Promise<void> {
    if (!this.#complete.has(service)) return this.writeEntry(service, metadata);
    return this.#put(this.entryPath(service), metadata);
  }

  protected async removeEntry(service: string): Promise<void> {
    this.#complete.delete(service);
    await this.#client!.delete().key(this.entryPath(service)).options(deadline(this.#timeoutMs)).exec();
  }

  /**
   * Stops keeping the lease alive, without revoking it (as Go: the `<basePath>/<service>` keys
   * on it stay until it expires, which lets Go clients see the last server leave), and closes
   * the client if the plugin made it.
   */
  protected async disconnect(): Promise<void> {
    this.#lease?.release();
    this.#lease = undefined;
    if (this.#owned) this.#client?.close();
    this.#client = undefined;
  }
}

/** Options of {@link EtcdV3Discovery}. */
export interface EtcdV3DiscoveryOptions extends RegistryDiscoveryOptions, EtcdConnectionOptions {}

/**
 * The watch of one service's prefix on one client, shared by every discovery of that service on
 * it: one etcd watch and one list per (re)connection, whose result ({@link ServiceFeed}) feeds
 * each discovery (which applies its own filter). Stopped when its last discovery closes.
 */
class EtcdServiceWatch extends ServiceFeed {
  readonly #client: Etcd3;
  /** `<basePath>/<servicePath>` */
  readonly #dir: string;
  readonly #timeoutMs: number;
  readonly #stopped = new AbortController();
  #listing = false;
  #again = false;
  /** The servers as last listed or changed by an event: `network@address` → value and mod revision. */
  #kvs = new Map<string, { value: string; rev: number }>();

  constructor(client: Etcd3, dir: string, timeoutMs: number) {
    super();
    this.#client = client;
    this.#dir = dir;
    this.#timeoutMs = timeoutMs;
    this.#start();
  }

  /** Stops watching (its last discovery closed). */
  stop(): void {
    this.#stopped.abort();
  }

  #start(): void {
    const signal = this.#stopped.signal;
    // Go watches the prefix "<dir>" (also "<dir>X/..."); only "<dir>/" can change the list.
    const prefix = this.#dir + '/';
    const watcher = this.#client.watch().prefix(prefix).watcher();
    watcher.on('connected', () => this.#resync());
    watcher.on('put', (kv) => this.#onEvent(kv, true));
    watcher.on('delete', (kv) => this.#onEvent(kv, false));
    watcher.on('disconnected', (err) => discoveryLog('%s: watch disconnected: %s', prefix, err.message));
    // A watch etcd cancelled (e.g. compaction): list, and watch again after a pause.
    watcher.on('error', (err) => {
      discoveryLog('%s: watch ended: %s', prefix, err.message);
      void watcher.cancel().catch(() => {});
      if (!signal.aborted) void sleep(1000, signal).then(() => !signal.aborted && this.#start());
    });
    signal.addEventListener('abort', () => void watcher.cancel().catch(() => {}), { once: true });
    this.#resync();
  }

  /**
   * A watch event. Go lists the whole prefix again on every event; here the event itself is
   * applied when the list is known and no list is running: it carries the key, the value and
   * its revision, so the change is published without another round trip to etcd. Revisions
   * make the order of watch events and list replies irrelevant: a put older than what is known
   * is ignored, a delete removes only an entry written before it. During a list (or before the
   * first) the event makes it list again instead.
   */
  #onEvent(kv: { key: Buffer; value: Buffer; mod_revision: string | number }, put: boolean): void {
    if (this.#stopped.signal.aborted) return;
    if (this.#listing || !this.hasList) return this.#resync();
    const prefix = this.#dir + '/';
    const key = kv.key.toString('utf8');
    if (!key.startsWith(prefix)) return;
    const name = key.slice(prefix.length);
    const rev = Number(kv.mod_revision);
    const cur = this.#kvs.get(name);
    if (put) {
      if (cur !== undefined && cur.rev >= rev) return;
      this.#kvs.set(name, { value: kv.value.toString('utf8'), rev });
    } else {
      if (cur === undefined || cur.rev >= rev) return;
      this.#kvs.delete(name);
    }
    this.#publish();
  }

  #publish(): void {
    if (this.#stopped.signal.aborted) return;
    this.publish([...this.#kvs].map(([key, { value }]) => ({ key, value })));
  }

  /** Lists again (coalesced: one list at a time, one more if anything happened meanwhile); retried with backoff until it succeeds. */
  #resync(): void {
    if (this.#listing) {
      this.#again = true;
      return;
    }
    this.#listing = true;
    void this.#listLoop();
  }

  async #listLoop(): Promise<void> {
    const backoff = new Backoff(100, 2000);
    const signal = this.#stopped.signal;
    const dir = this.#dir;
    const prefix = dir + '/';
    try {
      while (!signal.aborted) {
        this.#again = false;
        try {
          const res = await this.#client.getAll().prefix(prefix).options(deadline(this.#timeoutMs)).exec();
          const kvs = new Map<string, { value: string; rev: number }>();
          for (const kv of res.kvs) {
            const key = kv.key.toString('utf8');
            // Go lists "<dir>" and skips the directory key itself and anything not under "<dir>/" (e.g. "<dir>X/...")
            if (!key.startsWith(prefix)) continue;
            kvs.set(key.slice(prefix.length), { value: kv.value.toString('utf8'), rev: Number(kv.mod_revision) });
          }
          this.#kvs = kvs;
          this.#publish();
          backoff.reset();
          if (!this.#again) return;
        } catch (err) {
          if (signal.aborted) return;
          discoveryLog('%s: list failed (keeping the last list): %s', dir, err instanceof Error ? err.message : String(err));
          await sleep(backoff.next(), signal);
        }
      }
    } finally {
      this.#listing = false;
    }
  }
}

/**
 * A discovery's etcd client and the service watches on it, shared by a discovery and its clones
 * — and, unless `shareConnection: false`, by every discovery of the process with the same hosts
 * and etcd options (or the same client object).
 */
class EtcdHub {
  readonly #watches = new ServiceWatches<EtcdServiceWatch>();
  constructor(
    readonly client: Etcd3,
    readonly owned: boolean,
  ) {}

  /** The watch of `dir` shared by this client's discoveries of it (created on first use). */
  serviceWatch(dir: string, timeoutMs: number): EtcdServiceWatch {
    return this.#watches.get(`${dir}\n${timeoutMs}`, () => new EtcdServiceWatch(this.client, dir, timeoutMs));
  }

  /** A discovery of `w` closed (and unsubscribed): stops `w` once nobody listens to it. */
  releaseWatch(w: EtcdServiceWatch): void {
    this.#watches.release(w);
  }

  close(): void {
    this.#watches.stopAll();
    if (this.owned) this.client.close();
  }
}

/** The process-wide pool of discovery clients ({@link RegistryDiscoveryOptions.shareConnection}). */
const hubs = new ConnectionPool<EtcdHub>();

/** @internal How many pooled etcd discovery clients are open (for tests). */
export function pooledEtcdConnections(): number {
  return hubs.size;
}

function acquireHub(options: EtcdV3DiscoveryOptions): SharedResource<EtcdHub> {
  const make = (): EtcdHub => {
    const { client, owned } = makeClient(options, 'EtcdV3Discovery');
    return new EtcdHub(client, owned);
  };
  const close = (hub: EtcdHub): void => hub.close();
  if (options.shareConnection === false) return new SharedResource(make(), close);
  const key = options.client !== undefined ? `client ${optionsKey(options.client)}` : `hosts ${optionsKey(options.hosts)} ${optionsKey(options.etcdOptions)}`;
  return hubs.acquire(key, make, close);
}

const SHARED = Symbol('shared etcd client');
type InternalOptions = EtcdV3DiscoveryOptions & { [SHARED]?: SharedResource<EtcdHub> };

/**
 * Finds the servers of one service in etcd v3 and follows every change (Go:
 * `client.NewEtcdV3Discovery(basePath, servicePath, etcdAddr, allowKeyNotFound, options)` of
 * rpcx-etcd v0.5.0). Lists the keys under `<basePath>/<servicePath>/` (a prefix read, keys
 * verbatim) as `network@address` with their raw metadata, and watches that prefix. Go lists
 * again on every event; this applies the event itself (key, value, revision) when no list is
 * running, one round trip sooner, and lists again when the watch (re)connects. (Go reads and watches the prefix without the final `/` and
 * then drops the directory key and other services' keys such as `ArithX/...`; the result is
 * the same.)
 *
 * ```ts
 * const d = new EtcdV3Discovery('/rpcx_test', 'Arith', { hosts: ['127.0.0.1:2379'] });
 * const xc = createXClient('Arith', { discovery: d, selectMode: SelectMode.RoundRobin });
 * ```
 *
 * Differences from Go: it starts (and answers with no servers) while nothing is registered,
 * the last server leaving gives an empty list (Go's `allowKeyNotFound=false` never reports it),
 * a full watcher never loses an update, and while etcd is unreachable it keeps the last list,
 * retries with backoff, and lists again as soon as etcd answers. Go's leading-slash detection
 * changes nothing on etcd v3 (a prefix read returns keys spelt like the prefix) and is not
 * reproduced. `clone(servicePath)` shares this discovery's etcd client; so do discoveries
 * created separately with the same hosts and etcd options (unless `shareConnection: false`),
 * and those of one service share one watch (Go: each discovery has a client of its own).
 */
export class EtcdV3Discovery extends RegistryDiscovery {
  readonly #options: EtcdV3DiscoveryOptions;
  readonly #shared: SharedResource<EtcdHub>;
  readonly #watch: EtcdServiceWatch;

  constructor(basePath: string, servicePath: string, options: EtcdV3DiscoveryOptions) {
    super(basePath, servicePath, options);
    if (typeof basePath !== 'string' || typeof servicePath !== 'string' || servicePath === '') {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'EtcdV3Discovery: basePath and servicePath are required');
    }
    const { [SHARED]: shared, ...rest } = options as InternalOptions;
    this.#options = rest;
    this.#shared = shared ?? acquireHub(rest);
    this.#watch = this.#shared.value.serviceWatch(this.servicePrefix, options.requestTimeoutMs ?? 5000);
    this.follow(this.#shared, this.#watch);
  }

  /** The etcd3 client (shared with the clones and, unless `shareConnection: false`, with other discoveries of the same options). */
  get client(): Etcd3 {
    return this.#shared.value.client;
  }

  /** Go `Clone`: the same etcd client, another service. */
  clone(servicePath: string): ServiceDiscovery {
    const opts: InternalOptions = { ...this.#options, [SHARED]: this.#shared.retain() };
    return new EtcdV3Discovery(this.basePath, servicePath, opts);
  }
}
