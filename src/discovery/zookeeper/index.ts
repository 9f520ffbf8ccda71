/**
 * `rpcx/zookeeper`: register rpcx servers in ZooKeeper and discover them, exactly as Go rpcx
 * deployments do with `github.com/rpcxio/rpcx-zookeeper` (on libkv's zookeeper store).
 *
 * Layout (Go's): persistent `/<basePath>` (data `rpcx_path`), persistent `/<basePath>/<service>`
 * (data: the service name), and one **ephemeral** node `/<basePath>/<service>/<network>@<address>`
 * per server whose data is its metadata as a URL query. The node lives as long as the server's
 * ZooKeeper session.
 *
 * The client library is `node-zookeeper-client` (pure JavaScript, an optional peer dependency):
 * no native addon to build for each Node version and platform, and it speaks the ZooKeeper 3.x
 * protocol the registry needs (ephemeral nodes, watches, multi). The `zookeeper` npm addon wraps
 * the C client and needs a compiler and the C library at install time.
 */
import zookeeper from 'node-zookeeper-client';
import type { Client, Event as ZkEvent } from 'node-zookeeper-client';
import type { KVPair, ServiceDiscovery } from '../../client/discovery.js';
import { ErrorCode, RpcxError } from '../../errors.js';
import {
  Backoff,
  ConnectionPool,
  RegistryDiscovery,
  RegistryPlugin,
  ServiceFeed,
  ServiceWatches,
  SharedResource,
  discoveryLog,
  optionsKey,
  sleep,
  type RegistryDiscoveryOptions,
  type RegistryPluginOptions,
} from '../common.js';
import {
  DEFAULT_SESSION_TIMEOUT_MS,
  ZooKeeperConnection,
  create,
  exists,
  getChildren,
  getData,
  remove,
  replace,
  setData,
  zkErrorCode,
  zkPath,
  type ZooKeeperConnectionOptions,
} from './connection.js';

export { ZooKeeperConnection, DEFAULT_SESSION_TIMEOUT_MS, zkPath, guardPartialReplies } from './connection.js';
export type { ZooKeeperConnectionOptions } from './connection.js';

const NO_NODE = zookeeper.Exception.NO_NODE;
const NODE_EXISTS = zookeeper.Exception.NODE_EXISTS;

// ---------- server side ----------

/** Options of {@link ZooKeeperRegisterPlugin} (Go: the fields of `ZooKeeperRegisterPlugin`). */
export interface ZooKeeperRegisterPluginOptions extends RegistryPluginOptions {
  /**
   * Go `ZooKeeperServers`: `['127.0.0.1:2181']` (or one comma-separated string). The plugin
   * creates the client, starts a new session (and re-creates its nodes) when one expires, and
   * closes it when the server stops.
   */
  zooKeeperServers?: string | readonly string[];
  /** Or a connected client you own (not closed by the plugin; see {@link ZooKeeperConnectionOptions.client}). */
  client?: Client;
  /**
   * Session timeout (Go: 10 s, libkv's `defaultTimeout`, or `Options.ConnectionTimeout`). A
   * killed server's nodes vanish when its session expires, this long after its last heartbeat.
   */
  sessionTimeoutMs?: number;
  /** Bound of each ZooKeeper operation, including the wait for a connection (default 5,000 ms). */
  operationTimeoutMs?: number;
}

/**
 * Registers this server's services in ZooKeeper (Go: rpcx-zookeeper
 * `serverplugin.ZooKeeperRegisterPlugin`). Add it to a server before `serve()`:
 *
 * ```ts
 * const zk = new ZooKeeperRegisterPlugin({ zooKeeperServers: ['127.0.0.1:2181'], basePath: '/rpcx_test', updateIntervalMs: 1000 });
 * const server = createServer({ plugins: [zk] });
 * ```
 *
 * Same nodes as Go, byte for byte: persistent parents (`rpcx_path`, the service name), an
 * ephemeral `<network>@<address>` node (persistent when `updateIntervalMs` is 0, as Go) with the
 * metadata as data, ACL `world:anyone` all. Differences from Go, all fixes:
 * - the metadata is written in the canonical form Go's ticker would turn it into, from the start;
 * - a metadata change (`setInactive`, `updateMetadata`) deletes and re-creates the node in one
 *   transaction, because Go's discovery only watches children and never sees a data edit;
 * - the ticker re-creates the node when it is missing or owned by another (dead) session, and
 *   otherwise `Set`s the same data as Go's ticker does;
 * - after a session expiry it starts a new session and re-creates its nodes at once;
 * - no ticker/unregister race, and `stop()` never hangs.
 */
export class ZooKeeperRegisterPlugin extends RegistryPlugin {
  readonly name = 'ZooKeeperRegisterPlugin';
  readonly #connOptions: ZooKeeperConnectionOptions;
  readonly #opMs: number;
  #conn: ZooKeeperConnection | undefined;
  /** Parent paths known to exist with the right data in the current session. */
  readonly #dirs = new Set<string>();

  constructor(options: ZooKeeperRegisterPluginOptions) {
    super(options);
    if (options.client === undefined && options.zooKeeperServers === undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'ZooKeeperRegisterPlugin: zooKeeperServers or client is required');
    this.#connOptions = {};
    if (options.client !== undefined) this.#connOptions.client = options.client;
    if (options.zooKeeperServers !== undefined) this.#connOptions.servers = options.zooKeeperServers;
    if (options.sessionTimeoutMs !== undefined) this.#connOptions.sessionTimeoutMs = options.sessionTimeoutMs;
    this.#opMs = options.operationTimeoutMs ?? 5000;
  }

  /** The ZooKeeper connection (after the server listens). */
  get connection(): ZooKeeperConnection | undefined {
    return this.#conn;
  }

  /** The znode of a service's entry: `/<basePath>/<service>/<network>@<address>`. */
  entryNode(service: string): string {
    return zkPath(this.entryPath(service));
  }

  get #mode(): number {
    return this.updateIntervalMs > 0 ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
  }

  protected async connect(): Promise<void> {
    const conn = new ZooKeeperConnection(this.#connOptions);
    this.#conn = conn;
    conn.on('connected', (newSession) => {
      if (!newSession) return;
      this.#dirs.clear();
      // A new session after an expiry: the ephemeral nodes went with the old one.
      if (!this.active) return;
      void this.enqueueBatch('re-create', [...this.services.keys()], (s) => (this.services.has(s) && this.active ? this.writeEntry(s, this.entryMetadata(s)) : Promise.resolve())).catch(() => {});
    });
    await conn.ready(this.#opMs);
  }

  async #client(): Promise<Client> {
    if (this.#conn === undefined) throw new RpcxError(ErrorCode.INTERNAL, 'ZooKeeperRegisterPlugin: not connected');
    return this.#conn.ready(this.#opMs);
  }

  /** Runs `op`; a time-out on a connected session makes the client reconnect. */
  async #guard(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (err) {
      this.#conn?.stalled(err);
      throw err;
    }
  }

  /** Go: `kv.Put(dir, data, IsDir)` — creates missing ancestors (empty data) and sets the data of `dir`. */
  async #ensureDir(c: Client, dir: string, data: string): Promise<void> {
    if (this.#dirs.has(dir)) return;
    const parts = dir.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      const last = i === parts.length;
      if (!last && this.#dirs.has(p)) continue;
      try {
        await create(c, p, Buffer.from(last ? data : ''), zookeeper.CreateMode.PERSISTENT, this.#opMs);
      } catch (err) {
        if (zkErrorCode(err) !== NODE_EXISTS) throw err;
        if (last) {
          const cur = await getData(c, p, this.#opMs);
          if (cur.data.toString('utf8') !== data) await setData(c, p, Buffer.from(data), this.#opMs);
        }
      }
    }
    this.#dirs.add(dir);
  }

  /** Go `Register`: parents, then delete + create the node (here one transaction when it exists). */
  protected writeEntry(service: string, metadata: string): Promise<void> {
    return this.#guard(() => this.#write(service, metadata));
  }

  async #write(service: string, metadata: string): Promise<void> {
    const c = await this.#client();
    const base = zkPath(this.basePath);
    await this.#ensureDir(c, base, 'rpcx_path');
    await this.#ensureDir(c, zkPath(`${this.basePath}/${service}`), service);
    const node = this.entryNode(service);
    const data = Buffer.from(metadata, 'utf8');
    for (let attempt = 0; ; attempt++) {
      try {
        await create(c, node, data, this.#mode, this.#opMs);
        return;
      } catch (err) {
        const code = zkErrorCode(err);
        if (attempt >= 3) throw err;
        if (code === NO_NODE) {
          // A parent went away (deleted by someone): create it again.
          this.#dirs.clear();
          await this.#ensureDir(c, base, 'rpcx_path');
          await this.#ensureDir(c, zkPath(`${this.basePath}/${service}`), service);
          continue;
        }
        if (code !== NODE_EXISTS) throw err;
      }
      try {
        await replace(c, node, data, this.#mode, this.#opMs);
        return;
      } catch (err) {
        if (zkErrorCode(err) !== NO_NODE || attempt >= 3) throw err;
      }
    }
  }

  /** A tick (Go: `Get`, then `Put` when missing or `Set` when present). */
  protected override refreshEntry(service: string, metadata: string): Promise<void> {
    return this.#guard(() => this.#refresh(service, metadata));
  }

  async #refresh(service: string, metadata: string): Promise<void> {
    const c = await this.#client();
    const node = this.entryNode(service);
    let cur;
    try {
      cur = await getData(c, node, this.#opMs);
    } catch (err) {
      if (zkErrorCode(err) !== NO_NODE) throw err;
      discoveryLog('%s: %s missing: re-creating', this.name, node);
      return this.#write(service, metadata);
    }
    const ours = this.updateIntervalMs <= 0 || cur.stat.ephemeralOwner.equals(c.getSessionId());
    if (!ours || cur.data.toString('utf8') !== metadata) {
      discoveryLog('%s: %s %s: replacing', this.name, node, ours ? 'changed by someone else' : 'owned by another session');
      return this.#write(service, metadata);
    }
    await setData(c, node, cur.data, this.#opMs);
  }

  protected removeEntry(service: string): Promise<void> {
    return this.#guard(async () => {
      const c = await this.#client();
      try {
        await remove(c, this.entryNode(service), this.#opMs);
      } catch (err) {
        if (zkErrorCode(err) !== NO_NODE) throw err;
      }
    });
  }

  protected async disconnect(): Promise<void> {
    this.#conn?.close();
  }
}

// ---------- client side ----------

/** Options of {@link ZookeeperDiscovery}. */
export interface ZookeeperDiscoveryOptions extends RegistryDiscoveryOptions {
  /** Session timeout of the discovery's own client (default 10 s, Go's). */
  sessionTimeoutMs?: number;
  /** Bound of each ZooKeeper operation once connected (default 5,000 ms). */
  operationTimeoutMs?: number;
}

/**
 * The watch of one service's znode on one connection, shared by every discovery of that service
 * on it: one child watch and one data watch per child, one `getChildren` (+ a `getData` per new
 * child) per change, whose result ({@link ServiceFeed}) feeds each discovery (which applies its
 * own filter). Stopped when its last discovery closes.
 */
class ZkServiceWatch extends ServiceFeed {
  readonly #conn: ZooKeeperConnection;
  readonly #dir: string;
  readonly #opMs: number;
  readonly #stopped = new AbortController();
  /** Current children and their data. */
  #values = new Map<string, string>();
  #full = true;
  readonly #dataDirty = new Set<string>();
  #running = false;
  #wake: (() => void) | undefined;
  readonly #backoff = new Backoff(200, 10_000);
  /** Children whose data is known and whose data watch is set (and has not fired since). */
  readonly #armed = new Set<string>();
  readonly #watcher = (e: ZkEvent): void => this.#onEvent(e);
  readonly #onConnected = (): void => {
    // A new session lost every watch: read every child's data again (and set its watch).
    this.#armed.clear();
    this.#kick(true);
  };

  constructor(conn: ZooKeeperConnection, dir: string, opMs: number) {
    super();
    this.#conn = conn;
    this.#dir = dir;
    this.#opMs = opMs;
    conn.on('connected', this.#onConnected);
    this.#kick(true);
  }

  /** Stops watching (its last discovery closed). */
  stop(): void {
    if (this.#stopped.signal.aborted) return;
    this.#stopped.abort();
    this.#conn.off('connected', this.#onConnected);
    this.#wake?.();
  }

  #onEvent(e: ZkEvent): void {
    if (this.#stopped.signal.aborted) return;
    const type = e.getType();
    if (e.getPath().startsWith(this.#dir + '/')) this.#armed.delete(e.getPath().slice(this.#dir.length + 1));
    if (type === zookeeper.Event.NODE_DATA_CHANGED && e.getPath().startsWith(this.#dir + '/')) {
      this.#dataDirty.add(e.getPath().slice(this.#dir.length + 1));
      this.#kick(false);
    } else {
      this.#kick(true);
    }
  }

  /** Asks for a re-read (`full`: list the children again; else only the changed children's data). */
  #kick(full: boolean): void {
    if (full) this.#full = true;
    if (this.#running) {
      this.#wake?.();
      return;
    }
    this.#running = true;
    void this.#loop().finally(() => (this.#running = false));
  }

  async #loop(): Promise<void> {
    const signal = this.#stopped.signal;
    while (!signal.aborted && (this.#full || this.#dataDirty.size > 0)) {
      try {
        const c = await this.#conn.ready(Infinity, signal);
        if (this.#full) {
          this.#full = false;
          this.#dataDirty.clear();
          await this.#list(c);
        } else {
          const names = [...this.#dataDirty];
          this.#dataDirty.clear();
          await this.#reread(c, names);
        }
        this.#backoff.reset();
      } catch (err) {
        if (signal.aborted) return;
        this.#conn.stalled(err);
        this.#full = true;
        this.#armed.clear();
        const ms = this.#backoff.next();
        discoveryLog('%s: read failed (%s); again in %d ms', this.#dir, err instanceof Error ? err.message : String(err), ms);
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          void sleep(ms, signal).then(resolve);
        });
        this.#wake = undefined;
      }
    }
  }

  /**
   * Lists the children (watching them) and reads the data of each one not known yet (watching
   * it); publishes the list. A known child's data watch is still set, and tells when it changes,
   * so a server joining costs one data read, not one per server (Go reads every child's data
   * again, one after another, on every change).
   */
  async #list(c: Client): Promise<void> {
    let children: string[];
    try {
      children = await getChildren(c, this.#dir, this.#opMs, this.#watcher);
    } catch (err) {
      if (zkErrorCode(err) !== NO_NODE) throw err;
      // Not created yet: watch for its creation and publish an empty list.
      const stat = await exists(c, this.#dir, this.#opMs, this.#watcher);
      if (stat !== null) {
        this.#full = true;
        return;
      }
      this.#values = new Map();
      this.#publish();
      return;
    }
    const values = new Map<string, string>();
    await Promise.all(
      children.map(async (name) => {
        const known = this.#values.get(name);
        if (known !== undefined && this.#armed.has(name)) {
          values.set(name, known);
          return;
        }
        try {
          const { data } = await getData(c, `${this.#dir}/${name}`, this.#opMs, this.#watcher);
          values.set(name, data.toString('utf8'));
          this.#armed.add(name);
        } catch (err) {
          // Gone between the two reads: its parent's child watch tells us again.
          if (zkErrorCode(err) !== NO_NODE) throw err;
        }
      }),
    );
    for (const name of this.#armed) if (!values.has(name)) this.#armed.delete(name);
    this.#values = values;
    this.#publish();
  }

  /** Re-reads the data of changed children only. */
  async #reread(c: Client, names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        try {
          const { data } = await getData(c, `${this.#dir}/${name}`, this.#opMs, this.#watcher);
          if (this.#values.has(name)) {
            this.#values.set(name, data.toString('utf8'));
            this.#armed.add(name);
          }
        } catch (err) {
          if (zkErrorCode(err) !== NO_NODE) throw err;
          this.#values.delete(name);
        }
      }),
    );
    this.#publish();
  }

  #publish(): void {
    if (this.#stopped.signal.aborted) return;
    const pairs: KVPair[] = [];
    for (const [key, value] of this.#values) pairs.push({ key, value });
    this.publish(pairs);
  }
}

/**
 * A discovery's ZooKeeper session and the service watches on it, shared by a discovery and its
 * clones — and, unless `shareConnection: false`, by every discovery of the process with the same
 * ensemble and session timeout (or the same client object).
 */
class ZkDiscoveryHub {
  readonly #watches = new ServiceWatches<ZkServiceWatch>();
  constructor(readonly connection: ZooKeeperConnection) {}

  /** The watch of `dir` shared by this session's discoveries of it (created on first use). */
  serviceWatch(dir: string, opMs: number): ZkServiceWatch {
    return this.#watches.get(`${dir}\n${opMs}`, () => new ZkServiceWatch(this.connection, dir, opMs));
  }

  /** A discovery of `w` closed (and unsubscribed): stops `w` once nobody listens to it. */
  releaseWatch(w: ZkServiceWatch): void {
    this.#watches.release(w);
  }

  close(): void {
    this.#watches.stopAll();
    this.connection.close();
  }
}

/** The process-wide pool of discovery sessions ({@link RegistryDiscoveryOptions.shareConnection}). */
const hubs = new ConnectionPool<ZkDiscoveryHub>();

/** @internal How many pooled ZooKeeper discovery sessions are open (for tests). */
export function pooledZooKeeperConnections(): number {
  return hubs.size;
}

function acquireHub(zkAddr: string | readonly string[] | Client, options: ZookeeperDiscoveryOptions): SharedResource<ZkDiscoveryHub> {
  const owned = typeof zkAddr === 'string' || Array.isArray(zkAddr);
  const make = (): ZkDiscoveryHub =>
    new ZkDiscoveryHub(
      new ZooKeeperConnection(
        owned ? { servers: zkAddr as string | readonly string[], ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}) } : { client: zkAddr as Client },
      ),
    );
  const close = (hub: ZkDiscoveryHub): void => hub.close();
  if (options.shareConnection === false) return new SharedResource(make(), close);
  // The same ensemble (as written: order and chroot matter) and session timeout; a client by identity.
  const key = owned
    ? `servers ${typeof zkAddr === 'string' ? zkAddr : (zkAddr as readonly string[]).join(',')} ${options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS}`
    : `client ${optionsKey(zkAddr)}`;
  return hubs.acquire(key, make, close);
}

/**
 * Lists and watches the servers of one service in ZooKeeper (Go: rpcx-zookeeper
 * `client.ZookeeperDiscovery`, `NewZookeeperDiscovery(basePath, servicePath, zkAddr, options)`):
 *
 * ```ts
 * const d = new ZookeeperDiscovery('/rpcx_test', 'Arith', ['127.0.0.1:2181']);
 * const xc = createXClient('Arith', { discovery: d });
 * ```
 *
 * Keys are the child names (`tcp@host:port`), values their data. Unlike Go it watches each
 * child's data as well as the children (Go never sees an in-place metadata change), starts with
 * zero servers when `/<basePath>/<service>` does not exist yet (Go's constructor fails) and
 * follows its creation, keeps the last list while ZooKeeper is unreachable and resyncs on
 * reconnection or a new session. {@link clone} shares the ZooKeeper client; so do discoveries
 * created separately with the same ensemble and session timeout (unless `shareConnection:
 * false`), and those of one service share one watch and one read per change (Go: each
 * discovery has a session of its own).
 */
export class ZookeeperDiscovery extends RegistryDiscovery {
  readonly #shared: SharedResource<ZkDiscoveryHub>;
  readonly #options: ZookeeperDiscoveryOptions;
  readonly #watch: ZkServiceWatch;

  /**
   * @param zkAddr the ensemble (`['127.0.0.1:2181']` or `'h1:2181,h2:2181'`), or a connected
   *   client you own (not closed here; shared only with discoveries given the same client).
   * @param shared internal: the session of the discovery this one is cloned from.
   */
  constructor(basePath: string, servicePath: string, zkAddr: string | readonly string[] | Client, options: ZookeeperDiscoveryOptions = {}, shared?: SharedResource<ZkDiscoveryHub>) {
    super(basePath, servicePath, options);
    this.#options = options;
    this.#shared = shared ?? acquireHub(zkAddr, options);
    this.#watch = this.#shared.value.serviceWatch(zkPath(this.servicePrefix), options.operationTimeoutMs ?? 5000);
    this.follow(this.#shared, this.#watch);
  }

  /** The ZooKeeper connection (shared with clones and, unless `shareConnection: false`, with other discoveries of the same ensemble). */
  get connection(): ZooKeeperConnection {
    return this.#shared.value.connection;
  }

  clone(servicePath: string): ServiceDiscovery {
    return new ZookeeperDiscovery(this.basePath, servicePath, this.connection.client, this.#options, this.#shared.retain());
  }
}
