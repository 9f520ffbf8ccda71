/**
 * Redis registry (`rpcx/redis`): {@link RedisRegisterPlugin} (Go: rpcx core
 * `serverplugin.RedisRegisterPlugin`) and {@link RedisDiscovery} (Go: rpcx-redis
 * `client.RedisDiscovery`), on the layout of Go's store, libkv v0.5.1 `store/redis`:
 *
 * - key = libkv `Normalize(path)` = `"/" + path`: base `/rpcx` gives `//rpcx/Arith/tcp@h:p`;
 * - value = the JSON `store.KVPair` `{"Key":"/rpcx/Arith/tcp@h:p","Value":"<base64>","LastIndex":n}`
 *   (`Key` un-normalised, `Value` the metadata in standard base64, `LastIndex` a number);
 * - directory keys `//rpcx` (value `rpcx_path`) and `//rpcx/Arith` (value `Arith`) with no expiry;
 * - server keys expire after `2 × UpdateInterval`, each tick re-writing them;
 * - watches by keyspace notifications (`CONFIG SET notify-keyspace-events KEA`, `PSUBSCRIBE
 *   __keyspace@<db>__:<dir>/*`), listing by `SCAN MATCH` + `MGET`.
 *
 * `ioredis` (5 or 6) is an optional peer dependency: install it to use this module.
 * Layout and Go's defects: `shared/rpcx-deployment.md` §7.3.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ErrorCode, RpcxError } from '../../errors.js';
import type { KVPair, ServiceDiscovery } from '../../client/discovery.js';
import {
  Backoff,
  ConnectionPool,
  RegistryDiscovery,
  RegistryPlugin,
  ServiceFeed,
  ServiceWatches,
  SharedResource,
  discoveryLog,
  joinPath,
  optionsKey,
  type RegistryDiscoveryOptions,
  type RegistryPluginOptions,
} from '../common.js';

// ---------- libkv's layout ----------

/** libkv `store.Normalize` as the redis store uses it: `"/" + key` (so `/rpcx` becomes `//rpcx`). */
export function redisKey(path: string): string {
  return '/' + path;
}

/**
 * Go `encoding/json`'s string encoding: HTML-safe (`<`, `>`, `&`, U+2028, U+2029 escaped), `\b`
 * `\f` `\n` `\r` `\t` short forms, other controls `\u00XX`, invalid text (a lone surrogate here,
 * bad UTF-8 in Go) as `\ufffd`.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else out += '\\u' + c.toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

/**
 * A libkv `LastIndex`. Go writes `uint64(time.Now().Nanosecond())` (the nanoseconds within the
 * current second, 0..999,999,999); this is the same quantity. Nothing in rpcx reads it.
 */
export function lastIndex(): number {
  const ms = Date.now() % 1000;
  return ms * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n);
}

/**
 * The value libkv's redis store writes for `Put(key, value)`: Go `json.Marshal(&store.KVPair{Key,
 * Value, LastIndex})`, byte for byte.
 */
export function encodeKVPair(key: string, value: string, index: number = lastIndex()): string {
  return `{"Key":${goJsonString(key)},"Value":"${Buffer.from(value, 'utf8').toString('base64')}","LastIndex":${Math.trunc(index)}}`;
}

/** A decoded libkv value. */
export interface RedisKVPair {
  key: string;
  value: string;
  lastIndex: number;
}

/**
 * Decodes a libkv value as Go's `json.Unmarshal` into `store.KVPair` does (field names matched
 * case-insensitively, `Value` standard base64 or null). Returns undefined for anything else.
 */
export function decodeKVPair(raw: string): RedisKVPair | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const field = (name: string): unknown => {
    const o = v as Record<string, unknown>;
    if (name in o) return o[name];
    for (const k of Object.keys(o)) if (k.toLowerCase() === name.toLowerCase()) return o[k];
    return undefined;
  };
  const key = field('Key');
  const value = field('Value');
  const index = field('LastIndex');
  if (typeof key !== 'string') return undefined;
  let text = '';
  if (typeof value === 'string') {
    const b64 = value.replace(/[\r\n]/g, '');
    if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
    text = Buffer.from(b64, 'base64').toString('utf8');
  } else if (value !== null && value !== undefined) return undefined;
  if (index !== undefined && index !== null && (typeof index !== 'number' || !Number.isInteger(index) || index < 0)) return undefined;
  return { key, value: text, lastIndex: typeof index === 'number' ? index : 0 };
}

/** Escapes the glob characters of a Redis `MATCH`/`PSUBSCRIBE` pattern. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

// ---------- connection ----------

/** How to reach Redis: hosts (the plugin/discovery owns the client) or a client you own. */
export interface RedisConnectionOptions {
  /**
   * Go `RedisServers` / `redisAddr`: `host:port` (one: libkv's store refuses several, and so
   * does this). Used when `client` is not given.
   */
  redisServers?: string | readonly string[];
  /** Extra ioredis options for the client created from `redisServers` (password, `db`, TLS…: Go `store.Config`). */
  redisOptions?: RedisOptions;
  /**
   * An ioredis client you own (not closed by rpcx). Its options are copied for the second,
   * subscriber connection a discovery needs.
   */
  client?: Redis;
  /** Bound of every Redis operation in ms (default 3,000): a slow registry never blocks a call or a shutdown. */
  operationTimeoutMs?: number;
}

/** The one `host:port` of `redisServers`, parsed; throws `INVALID_ARGUMENT` otherwise. */
function redisAddress(o: RedisConnectionOptions, what: string): { host: string; port: number } {
  const servers = typeof o.redisServers === 'string' ? [o.redisServers] : [...(o.redisServers ?? [])];
  if (servers.length !== 1) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${what}: want exactly one Redis address in redisServers (libkv: redis does not support multiple endpoints), or a client`);
  }
  const m = /^(?:redis:\/\/)?(?:\[([^\]]+)\]|([^:/[\]]*))(?::(\d{1,5}))?\/?$/.exec(servers[0]!);
  if (m === null || (m[3] !== undefined && Number(m[3]) > 65535)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${what}: bad Redis address ${JSON.stringify(servers[0])}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: m[3] === undefined ? 6379 : Number(m[3]) };
}

function makeClient(o: RedisConnectionOptions, what: string): { client: Redis; owned: boolean } {
  if (o.client !== undefined) return { client: o.client, owned: false };
  const { host, port } = redisAddress(o, what);
  const options: RedisOptions = {
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    ...(o.redisOptions ?? {}),
  };
  const client: Redis = new Redis(options as RedisOptions & { replyMapping?: 'legacy' });
  return { client, owned: true };
}

/**
 * `p`, or a `TIMEOUT` error after `ms`. One promise and one timer (no `Promise.race` + `finally`
 * chain): this bounds the `GET` on every keyspace event, i.e. it is on the path of a join.
 */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RpcxError(ErrorCode.TIMEOUT, `redis ${what}: no answer in ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function notReady(client: Redis): RpcxError {
  return new RpcxError(ErrorCode.CONNECTION, `redis not connected (${client.status})`);
}

/** Waits until `client` is ready (connecting it if lazy), at most `ms`; true if ready. */
async function waitReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  if (client.status === 'wait') client.connect().catch(() => {});
  if (client.status === 'end') return false;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const onEnd = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    timer.unref();
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

/** Go's store constructor: `CONFIG SET notify-keyspace-events KEA`; true when Redis accepted it. */
async function enableNotifications(client: Redis, ms: number): Promise<boolean> {
  try {
    await withTimeout(client.config('SET', 'notify-keyspace-events', 'KEA'), ms, 'CONFIG SET');
    return true;
  } catch (err) {
    discoveryLog('redis: CONFIG SET notify-keyspace-events KEA refused (%s): watching by polling', (err as Error).message);
    return false;
  }
}

async function closeClient(client: Redis, ms: number): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await withTimeout(client.quit(), ms, 'QUIT');
    } catch {
      // fall through
    }
  }
  client.disconnect();
}

// ---------- server side ----------

/** Options of {@link RedisRegisterPlugin} (Go: the fields of `serverplugin.RedisRegisterPlugin`). */
export interface RedisRegisterPluginOptions extends RegistryPluginOptions, RedisConnectionOptions {}

/**
 * Registers this server's services in Redis as Go's `serverplugin.RedisRegisterPlugin` does
 * (rpcx v1.9.4 `serverplugin/redis.go` on libkv's redis store): at listen, `//<base>` =
 * `rpcx_path` and `//<base>/<service>` = the service name (no expiry), and
 * `//<base>/<service>/<network>@<address>` = the metadata, expiring after `2 × updateIntervalMs`
 * and re-written every `updateIntervalMs` (no expiry when it is 0). Values are libkv's JSON
 * envelope. On graceful shutdown the server keys are deleted before the server drains.
 *
 * Better than Go: the metadata is written in its canonical (`url.Values.Encode`) form from the
 * first write; a tick cannot resurrect an unregistered key; after Redis comes back (e.g. a
 * restart that lost the data) the keys — directories included — are written again at once, and
 * keyspace notifications are re-enabled.
 *
 * ```ts
 * const server = createServer({ plugins: [new RedisRegisterPlugin({ redisServers: '127.0.0.1:6379', basePath: '/rpcx' })] });
 * server.register(new Arith(), { metadata: 'weight=2' });
 * await server.serve('tcp', '10.0.0.5:8972');
 * ```
 */
export class RedisRegisterPlugin extends RegistryPlugin {
  readonly name = 'RedisRegisterPlugin';
  readonly #options: RedisRegisterPluginOptions;
  readonly #timeoutMs: number;
  #client: Redis | undefined;
  #owned = false;
  readonly #onReady = (): void => this.#ready();
  readonly #onError = (err: Error): void => discoveryLog('%s: redis: %s', this.name, err.message);

  constructor(options: RedisRegisterPluginOptions) {
    super(options);
    this.#options = options;
    this.#timeoutMs = options.operationTimeoutMs ?? 3000;
    if (options.client === undefined) redisAddress(options, this.name);
  }

  /** The ioredis client (once the server listens). */
  get client(): Redis | undefined {
    return this.#client;
  }

  protected async connect(): Promise<void> {
    const { client, owned } = makeClient(this.#options, this.name);
    this.#client = client;
    this.#owned = owned;
    client.on('error', this.#onError);
    client.on('ready', this.#onReady);
    // Go's store constructor enables keyspace notifications (for the clients' watches).
    if (client.status === 'ready') await enableNotifications(client, this.#timeoutMs);
    else if (!(await waitReady(client, this.#timeoutMs))) {
      discoveryLog('%s: redis not reachable yet: the entries are written when it is', this.name);
    }
  }

  /** A (re)connection: enable notifications (a restarted Redis forgot them) and (re)write every entry. */
  #ready(): void {
    const client = this.#client;
    if (client === undefined) return;
    void enableNotifications(client, this.#timeoutMs);
    if (!this.active) return; // connecting: serverListening writes them next
    discoveryLog('%s: redis (re)connected: writing the entries', this.name);
    void this.enqueueBatch('re-register', [...this.services.keys()], (s) => (this.services.has(s) && this.active ? this.writeEntry(s, this.entryMetadata(s)) : Promise.resolve())).catch(() => {});
  }

  #ttlArgs(): ['EX' | 'PX', number] | [] {
    const ttl = this.updateIntervalMs * 2;
    if (ttl <= 0) return [];
    // go-redis: whole seconds as EX, anything else as PX.
    return ttl % 1000 === 0 ? ['EX', ttl / 1000] : ['PX', ttl];
  }

  /** The client if connected; otherwise undefined (and the operation is left to the reconnection or the expiry). */
  #connected(what: string): Redis | undefined {
    const c = this.#client;
    if (c !== undefined && c.status === 'ready') return c;
    discoveryLog('%s: redis not connected: %s deferred', this.name, what);
    return undefined;
  }

  async #write(service: string, metadata: string, dirsIfMissing: boolean): Promise<void> {
    // While Redis is unreachable the write waits for the reconnection, which writes every entry.
    const c = this.#connected(`writing ${service}`);
    if (c === undefined) return;
    const base = this.basePath;
    const dir = joinPath(base, service);
    const node = this.entryPath(service);
    const p = c.pipeline();
    if (dirsIfMissing) {
      p.set(redisKey(base), encodeKVPair(base, 'rpcx_path'), 'NX');
      p.set(redisKey(dir), encodeKVPair(dir, service), 'NX');
    } else {
      p.set(redisKey(base), encodeKVPair(base, 'rpcx_path'));
      p.set(redisKey(dir), encodeKVPair(dir, service));
    }
    const ttl = this.#ttlArgs();
    if (ttl.length === 2) p.set(redisKey(node), encodeKVPair(node, metadata), ttl[0] as 'PX', ttl[1]);
    else p.set(redisKey(node), encodeKVPair(node, metadata));
    const results = await withTimeout(p.exec(), this.#timeoutMs, `SET ${redisKey(node)}`);
    for (const [err] of results ?? []) if (err) throw err;
  }

  protected writeEntry(service: string, metadata: string): Promise<void> {
    return this.#write(service, metadata, false);
  }

  /** A tick: the server key again (its keep-alive), and the directory keys only if they are missing. */
  protected override refreshEntry(service: string, metadata: string): Promise<void> {
    return this.#write(service, metadata, true);
  }

  protected async removeEntry(service: string): Promise<void> {
    // While Redis is unreachable the key is left to expire (2 x updateIntervalMs).
    const c = this.#connected(`removing ${service}`);
    if (c === undefined) return;
    await withTimeout(c.del(redisKey(this.entryPath(service))), this.#timeoutMs, 'DEL');
  }

  protected async disconnect(): Promise<void> {
    const c = this.#client;
    if (c === undefined) return;
    c.off('ready', this.#onReady);
    // An owned client keeps its error listener: a late socket error (ECONNRESET after QUIT) must
    // not become ioredis's "Unhandled error event". A caller's client gets its listeners back.
    if (this.#owned) await closeClient(c, this.#timeoutMs);
    else c.off('error', this.#onError);
  }
}

// ---------- client side ----------

/** A keyspace notification: the channel (`__keyspace@<db>__:<key>`) and the event (`set`, `del`, `expired`…). */
type Listener = (channel: string, event: string) => void;

/**
 * The connections a discovery and its clones share — and, unless `shareConnection: false`, every
 * discovery of the process with the same connection options (the pool below): the command
 * connection (lists) and, for keyspace notifications, a subscriber connection (ioredis: a second
 * connection).
 */
class RedisHub {
  readonly client: Redis;
  readonly owned: boolean;
  readonly timeoutMs: number;
  readonly db: number;
  sub: Redis | undefined;
  /** Whether Redis accepted `CONFIG SET notify-keyspace-events` (undefined: not asked yet). */
  notifications: boolean | undefined;
  readonly #patterns = new Map<string, Set<Listener>>();
  readonly #resync = new Set<(reconnected: boolean) => void>();
  #readies = 0;
  #closed = false;
  readonly #onError = (err: Error): void => discoveryLog('redis discovery: %s', err.message);
  readonly #onReady = (): void => {
    const reconnected = ++this.#readies > 1;
    void enableNotifications(this.client, this.timeoutMs).then((ok) => {
      this.notifications = ok;
      this.#fireResync(reconnected);
    });
  };

  constructor(o: RedisConnectionOptions) {
    const { client, owned } = makeClient(o, 'RedisDiscovery');
    this.client = client;
    this.owned = owned;
    this.timeoutMs = o.operationTimeoutMs ?? 3000;
    this.db = client.options.db ?? 0;
    client.on('error', this.#onError);
    client.on('ready', this.#onReady);
    if (client.status === 'ready') this.#onReady();
    else if (client.status === 'wait') client.connect().catch(() => {});
  }

  #readyWait: Promise<boolean> | undefined;

  /** The watch of each service on this connection (key: prefix, poll interval, grace). */
  readonly #services = new ServiceWatches<RedisServiceWatch>();

  /** The watch of `prefix` shared by this connection's discoveries of it (created on first use). */
  serviceWatch(prefix: string, pollMs: number, graceMs: number): RedisServiceWatch {
    return this.#services.get(`${prefix}\n${pollMs}\n${graceMs}`, () => new RedisServiceWatch(this, prefix, pollMs, graceMs));
  }

  /** A discovery of `w` closed (and unsubscribed): stops `w` once nobody listens to it. */
  releaseWatch(w: RedisServiceWatch): void {
    this.#services.release(w);
  }

  /**
   * Waits (at most the operation timeout) until the command connection is ready; true if it is.
   * One wait, and one pair of `ready`/`end` listeners on the client, however many discoveries
   * (clones) wait: each waiting on its own added two listeners per clone to the shared client.
   */
  whenReady(): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    this.#readyWait ??= waitReady(this.client, this.timeoutMs).finally(() => {
      this.#readyWait = undefined;
    });
    return this.#readyWait;
  }

  /** True when changes arrive by notification; false means the discoveries poll. */
  get pushing(): boolean {
    return this.notifications === true && this.sub?.status === 'ready';
  }

  /** `reconnected`: the command connection came back (Redis may have restarted and lost its data). */
  #fireResync(reconnected: boolean): void {
    for (const l of [...this.#resync]) l(reconnected);
  }

  onResync(l: (reconnected: boolean) => void): () => void {
    this.#resync.add(l);
    return () => this.#resync.delete(l);
  }

  #subscriber(): Redis {
    if (this.sub !== undefined) return this.sub;
    const sub = this.client.duplicate({ lazyConnect: true, autoResubscribe: true });
    this.sub = sub;
    sub.on('error', this.#onError);
    sub.on('pmessage', (pattern: string, channel: string, event: string) => {
      for (const l of [...(this.#patterns.get(pattern) ?? [])]) l(channel, event);
    });
    sub.on('ready', () => {
      // Make sure every pattern is subscribed before the lists that catch up on missed changes.
      const patterns = [...this.#patterns.keys()];
      const again = patterns.length > 0 ? withTimeout(sub.psubscribe(...patterns), this.timeoutMs, 'PSUBSCRIBE') : Promise.resolve(0);
      void again.catch((err: unknown) => discoveryLog('redis discovery: PSUBSCRIBE: %s', (err as Error).message)).then(() => this.#fireResync(false));
    });
    sub.connect().catch(() => {});
    return sub;
  }

  /** Calls `l` on every keyspace event matching `pattern`; resolves once subscribed (or after the timeout). */
  async watch(pattern: string, l: Listener): Promise<() => void> {
    let set = this.#patterns.get(pattern);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#patterns.set(pattern, set);
    }
    set.add(l);
    const sub = this.#subscriber();
    if (first && sub.status === 'ready') {
      await withTimeout(sub.psubscribe(pattern), this.timeoutMs, 'PSUBSCRIBE').catch((err: unknown) => discoveryLog('redis discovery: PSUBSCRIBE: %s', (err as Error).message));
    }
    return () => {
      const s = this.#patterns.get(pattern);
      if (s === undefined || !s.delete(l) || s.size > 0) return;
      this.#patterns.delete(pattern);
      if (sub.status === 'ready') sub.punsubscribe(pattern).catch(() => {});
    };
  }

  /** `SCAN MATCH pattern` then `MGET`: every [redis key, value] (values gone meanwhile are left out). */
  async scan(pattern: string): Promise<Array<[string, string]>> {
    const c = this.client;
    if (c.status !== 'ready') throw notReady(c);
    const keys = new Set<string>();
    let cursor = '0';
    for (let rounds = 0; rounds < 1_000_000; rounds++) {
      const [next, batch] = await withTimeout(c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000), this.timeoutMs, 'SCAN');
      for (const k of batch) keys.add(k);
      cursor = next;
      if (cursor === '0') break;
    }
    const all = [...keys];
    const out: Array<[string, string]> = [];
    for (let i = 0; i < all.length; i += 1000) {
      const chunk = all.slice(i, i + 1000);
      const values = await withTimeout(c.mget(...chunk), this.timeoutMs, 'MGET');
      values.forEach((v, j) => {
        if (v !== null) out.push([chunk[j]!, v]);
      });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#services.stopAll();
    this.client.off('ready', this.#onReady);
    const sub = this.sub;
    if (sub !== undefined) sub.disconnect();
    // As the plugin: an owned client keeps its error listener after closing.
    if (this.owned) await closeClient(this.client, this.timeoutMs);
    else this.client.off('error', this.#onError);
  }
}

/** Options of {@link RedisDiscovery}. */
export interface RedisDiscoveryOptions extends RegistryDiscoveryOptions, RedisConnectionOptions {
  /**
   * How often to re-list while keyspace notifications are not available (Redis refused
   * `CONFIG SET`, or the subscriber connection is down), in ms; default 500.
   */
  pollIntervalMs?: number;
  /**
   * How long servers that vanished are kept while Redis has lost the service's directory key
   * `//<basePath>/<servicePath>` — which every server writes and nobody deletes, so its absence
   * means Redis came back empty (a restart without persistence) — giving the servers time to
   * write their keys again (a TS server does so on reconnection, a Go server at its next tick).
   * Servers that appear are added at once. Default 15,000 ms (Go's default UpdateInterval is 10 s).
   */
  dataLossGraceMs?: number;
}

let cloning: SharedResource<RedisHub> | undefined;

/** The process-wide pool of discovery connections ({@link RegistryDiscoveryOptions.shareConnection}). */
const hubs = new ConnectionPool<RedisHub>();

/**
 * What makes two discoveries' connections interchangeable: the client object you gave (by
 * identity), or the address and every ioredis option; and the operation timeout.
 */
function hubKey(o: RedisConnectionOptions): string {
  const timeout = o.operationTimeoutMs ?? 3000;
  if (o.client !== undefined) return `client ${optionsKey(o.client)} ${timeout}`;
  const { host, port } = redisAddress(o, 'RedisDiscovery');
  return `${host} ${port} ${timeout} ${optionsKey(o.redisOptions)}`;
}

/** A discovery's connection: the pooled one unless `shareConnection` is false. */
function acquireHub(o: RedisDiscoveryOptions): SharedResource<RedisHub> {
  const make = (): RedisHub => new RedisHub(o);
  const close = (hub: RedisHub): Promise<void> => hub.close();
  if (o.shareConnection === false) return new SharedResource(make(), close);
  return hubs.acquire(hubKey(o), make, close);
}

/** @internal How many pooled Redis discovery connections are open (for tests). */
export function pooledRedisConnections(): number {
  return hubs.size;
}

/**
 * The watch of one service (`//<basePath>/<servicePath>/*`) on one connection, shared by every
 * discovery of that service on it: one keyspace subscription, one `GET` per change and one list
 * per resync, whose result ({@link ServiceFeed}) feeds each discovery (which applies its own
 * filter). Stopped when its last discovery closes.
 */
class RedisServiceWatch extends ServiceFeed {
  readonly #hub: RedisHub;
  readonly #prefix: string;
  /** The Redis key of the watched directory, `//<basePath>/<servicePath>`. */
  readonly directory: string;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #stopped = new AbortController();
  readonly #backoff = new Backoff(100, 5000);
  #listing = false;
  #again = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  readonly #unresync: () => void;
  #last: KVPair[] = [];
  /** Redis key → server name (`network@address`) of the servers listed. */
  #names = new Map<string, string>();
  /** Per Redis key, a count of its notifications (to drop a GET answer overtaken by a later event). */
  readonly #gens = new Map<string, number>();
  /** Counts the lists started (a GET sent before a list is overtaken by it). */
  #listEpoch = 0;
  #reconnectedAt: number | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(hub: RedisHub, prefix: string, pollMs: number, graceMs: number) {
    super();
    this.#hub = hub;
    this.#prefix = prefix;
    this.directory = redisKey(prefix);
    this.#pollMs = pollMs;
    this.#graceMs = graceMs;
    this.#unresync = hub.onResync((reconnected) => {
      if (reconnected) this.#reconnectedAt = performance.now();
      this.requestList();
    });
    void this.#start();
  }

  async #start(): Promise<void> {
    const hub = this.#hub;
    const dir = globEscape(this.directory) + '/*';
    const channelPrefix = `__keyspace@${hub.db}__:`;
    const unwatch = await hub.watch(channelPrefix + dir, (channel, event) => this.#onKeyEvent(channel.slice(channelPrefix.length), event));
    if (this.#stopped.signal.aborted) {
      unwatch();
      return;
    }
    this.#unwatch = unwatch;
    this.#poll = setInterval(() => {
      if (!hub.pushing) this.requestList();
    }, this.#pollMs);
    this.#poll.unref();
    // The first list once connected (a failure is retried; a reconnection lists again anyway).
    await hub.whenReady();
    if (this.#stopped.signal.aborted) clearInterval(this.#poll);
    else this.requestList();
  }

  /**
   * A keyspace notification for `rkey`. Go lists the directory again on every one; here, when
   * the list is known, no list runs and Redis is not catching up after a data loss, a `del` or
   * `expired` removes the server at once (no round trip) and a `set` reads that one key (one
   * GET instead of SCAN + MGET); the `expire` that follows each `SET … EX` changes nothing.
   * Anything else lists again. A GET's answer is dropped if another event for the key, or a
   * list, came after it was sent (the later one decides).
   */
  #onKeyEvent(rkey: string, event: string): void {
    if (this.#stopped.signal.aborted) return;
    if (event === 'expire') return;
    if (this.#listing || !this.hasList || this.#reconnectedAt !== undefined || !rkey.startsWith(this.directory + '/')) return this.requestList();
    const gen = (this.#gens.get(rkey) ?? 0) + 1;
    this.#gens.set(rkey, gen);
    if (event === 'del' || event === 'expired' || event === 'evicted') {
      this.#applyKey(rkey, undefined);
      return;
    }
    if (event !== 'set') return this.requestList();
    const epoch = this.#listEpoch;
    const hub = this.#hub;
    withTimeout(hub.client.get(rkey), hub.timeoutMs, 'GET').then(
      (raw) => {
        if (this.#gens.get(rkey) !== gen || this.#listEpoch !== epoch || this.#listing || this.#stopped.signal.aborted) return;
        this.#applyKey(rkey, raw === null ? undefined : this.#pairOf(rkey, raw));
      },
      () => this.requestList(),
    );
  }

  /** Sets (or, with `pair` undefined, removes) the server of one Redis key in the published list. */
  #applyKey(rkey: string, pair: KVPair | undefined): void {
    const was = this.#names.get(rkey);
    const name = pair?.key;
    const next: KVPair[] = [];
    for (const p of this.#last) if (p.key !== was && p.key !== name) next.push(p);
    // Another key with the same name (a value whose Key is not its own): let a list sort it out.
    let clash = false;
    for (const [k, n] of this.#names) {
      if (k !== rkey && (n === was || n === name)) {
        clash = true;
        break;
      }
    }
    if (pair === undefined) this.#names.delete(rkey);
    else {
      this.#names.set(rkey, pair.key);
      next.push(pair);
    }
    if (clash) return this.requestList();
    this.#last = next;
    this.publish(next);
  }

  /** Re-lists now (coalesced with a list already running). */
  requestList(): void {
    if (this.#stopped.signal.aborted) return;
    if (this.#listing) {
      this.#again = true;
      return;
    }
    this.#listing = true;
    void this.#runList();
  }

  async #runList(): Promise<void> {
    try {
      do {
        this.#again = false;
        this.#listEpoch++;
        const { pairs, directory, names } = await this.#read();
        if (this.#stopped.signal.aborted) return;
        this.#names = names;
        this.#gens.clear();
        this.publish(this.#holdOnDataLoss(pairs, directory));
        this.#backoff.reset();
      } while (this.#again && !this.#stopped.signal.aborted);
    } catch (err) {
      if (this.#stopped.signal.aborted) return;
      discoveryLog('%s: list failed (keeping the last list): %s', this.directory, (err as Error).message);
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.requestList(), this.#backoff.next());
      this.#retry.unref();
    } finally {
      this.#listing = false;
    }
  }

  /**
   * The list to publish: `pairs`, plus the servers of the last list that are missing from it
   * while Redis looks freshly emptied (reconnected less than `dataLossGraceMs` ago and the
   * directory key absent).
   */
  #holdOnDataLoss(pairs: KVPair[], directory: boolean): KVPair[] {
    const grace = this.#graceMs;
    const since = this.#reconnectedAt === undefined ? Infinity : performance.now() - this.#reconnectedAt;
    if (directory || since >= grace) {
      this.#reconnectedAt = undefined;
      this.#last = pairs;
      return pairs;
    }
    const seen = new Set(pairs.map((p) => p.key));
    const held = this.#last.filter((p) => !seen.has(p.key));
    if (held.length > 0) discoveryLog('%s: directory key missing after a reconnection (Redis lost its data?): keeping %d vanished server(s) while they re-register', this.directory, held.length);
    this.#last = [...pairs, ...held];
    // Look again when the grace ends, so servers still missing go then even if nothing changes.
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => this.requestList(), grace - since + 10);
    this.#graceTimer.unref();
    return this.#last;
  }

  async #read(): Promise<{ pairs: KVPair[]; directory: boolean; names: Map<string, string> }> {
    const [entries, directory] = await Promise.all([this.entries(), withTimeout(this.#hub.client.exists(this.directory), this.#hub.timeoutMs, 'EXISTS')]);
    const names = new Map<string, string>();
    for (const [rkey, pair] of entries) names.set(rkey, pair.key);
    return { pairs: entries.map(([, p]) => p), directory: directory === 1, names };
  }

  /** The server of one Redis key's value, or undefined (with a debug line) when it is not one. */
  #pairOf(rkey: string, raw: string): KVPair | undefined {
    const dir = this.directory;
    const kv = decodeKVPair(raw);
    if (kv === undefined) {
      discoveryLog('%s: skipped %s: value is not a libkv KVPair: %j', dir, rkey, raw.slice(0, 200));
      return undefined;
    }
    // Go's prefix: the discovery path with the same leading '/' as the stored Key.
    const prefix = this.#prefix + '/';
    const keyPrefix = kv.key.startsWith('/') === prefix.startsWith('/') ? prefix : kv.key.startsWith('/') ? '/' + prefix : prefix.replace(/^\//, '');
    if (!kv.key.startsWith(keyPrefix)) {
      discoveryLog('%s: skipped %s: its Key %j is not under %s', dir, rkey, kv.key, keyPrefix);
      return undefined;
    }
    return { key: kv.key.slice(keyPrefix.length), value: kv.value };
  }

  /** Every server under the directory with its Redis key. */
  async entries(): Promise<Array<[string, KVPair]>> {
    const dir = this.directory;
    const entries = await this.#hub.scan(globEscape(dir) + '/*');
    const out: Array<[string, KVPair]> = [];
    for (const [rkey, raw] of entries) {
      if (!rkey.startsWith(dir + '/')) continue;
      const pair = this.#pairOf(rkey, raw);
      if (pair !== undefined) out.push([rkey, pair]);
    }
    return out;
  }

  /** Stops watching (its last discovery closed). */
  stop(): void {
    if (this.#stopped.signal.aborted) return;
    this.#stopped.abort();
    clearTimeout(this.#retry);
    clearTimeout(this.#graceTimer);
    clearInterval(this.#poll);
    this.#unwatch?.();
    this.#unresync();
  }
}

/**
 * The servers of one service as registered in Redis (Go: rpcx-redis `client.RedisDiscovery`,
 * `NewRedisDiscovery(basePath, servicePath, redisAddr, options)`): lists
 * `//<basePath>/<servicePath>/…` and follows every change through keyspace notifications.
 *
 * Better than Go: only keys under `<servicePath>/` are listed (Go's `Arith` also lists
 * `ArithX`'s keys); a discovery starts with zero servers; it polls when Redis refuses
 * `CONFIG SET` (or the subscriber connection is down); it never stops watching after a failed
 * list, keeps the last list while Redis is unreachable, reconnects with backoff and re-lists on
 * return; values that do not parse are skipped with a `rpcx:discovery` debug line. Clones share
 * both connections; so do discoveries created separately with the same connection options
 * (unless `shareConnection: false`), and those of one service share one watch and one read per
 * change (Go: each discovery has connections of its own).
 *
 * ```ts
 * const d = new RedisDiscovery('/rpcx', 'Arith', { redisServers: '127.0.0.1:6379' });
 * const xc = new XClient('Arith', { discovery: d, selectMode: SelectMode.RoundRobin });
 * ```
 */
export class RedisDiscovery extends RegistryDiscovery {
  readonly #shared: SharedResource<RedisHub>;
  readonly #options: RedisDiscoveryOptions;
  readonly #watch: RedisServiceWatch;

  constructor(basePath: string, servicePath: string, options: RedisDiscoveryOptions) {
    super(basePath, servicePath, options);
    this.#options = options;
    const shared = cloning;
    cloning = undefined;
    this.#shared = shared ?? acquireHub(options);
    this.#watch = this.#shared.value.serviceWatch(this.servicePrefix, options.pollIntervalMs ?? 500, options.dataLossGraceMs ?? 15_000);
    this.follow(this.#shared, this.#watch);
  }

  /** The Redis key of the watched directory, `//<basePath>/<servicePath>`. */
  get redisDirectory(): string {
    return this.#watch.directory;
  }

  /** The ioredis command connection (shared with clones and, unless `shareConnection: false`, with other discoveries of the same options). */
  get client(): Redis {
    return this.#shared.value.client;
  }

  /** Re-lists now (coalesced with a list already running; shared with the service's other discoveries on this connection). */
  requestList(): void {
    if (!this.closed.signal.aborted) this.#watch.requestList();
  }

  /**
   * Reads the servers now (Go: `kv.List(basePath)`, then the prefix stripped from each value's
   * `Key`); keys not directly under `<servicePath>/` and values that do not parse are skipped.
   */
  async list(): Promise<KVPair[]> {
    return (await this.#watch.entries()).map(([, p]) => p);
  }

  clone(servicePath: string): ServiceDiscovery {
    cloning = this.#shared.retain();
    try {
      return new RedisDiscovery(this.basePath, servicePath, this.#options);
    } finally {
      cloning = undefined;
    }
  }
}
