import createDebug from 'debug';
import { RpcxError, ErrorCode, ServiceError } from '../errors.js';
import { MetaKey, toMetadataMap, type Message, type MetadataInit } from '../protocol/index.js';
import { Client, type CallOptions, type CallResult, type ClientOptions, type ClientStatus, type RawResult } from './client.js';
import { AsyncQueue } from './async-queue.js';
import { PushStream } from './push-stream.js';
import { abortError, callTimeoutMs } from './deadline.js';
import type { Duplex, Readable, Writable } from 'node:stream';
import { SerializeType } from '../protocol/constants.js';
import { openMessageStream, type MessageStream, type OpenStreamOptions } from '../stream/messages.js';
import { defaultCodecRegistry } from '../codec/defaults.js';
import { downloadFileVia, openByteStream, sendFileVia, type DownloadFileOptions, type SendFileOptions, type ByteStreamOptions, type TokenCaller } from '../stream/client.js';
import { BREAKER_OPEN, type Breaker } from './breaker.js';
import type { KVPair, ServiceDiscovery } from './discovery.js';
import { FailMode, SelectMode, XCLIENT_NO_SERVER, settleFanOut, type Receipt } from './fail-mode.js';
import type { GoFormatOptions } from './gofmt.js';
import { ServiceRegistry, type Handler, type RawHandler, type RegisterFunctionOptions, type RegisterOptions } from '../server/registry.js';
import { createProxy, type ServiceProxy } from './proxy.js';
import {
  ConsistentHashSelector,
  GeoSelector,
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
  filterByStateAndGroup,
  type Selector,
  type ServerMap,
} from './selectors.js';
import { WeightedRttSelector, type RttProbe } from './rtt.js';

const log = createDebug('rpcx:client');

/** Go's `client.ErrXClientShutdown` text. */
export const XCLIENT_SHUTDOWN = 'xClient is shut down';
export { XCLIENT_NO_SERVER } from './fail-mode.js';
/** Go's `client.ErrServerUnavailable` text. */
export const SERVER_UNAVAILABLE = 'selected server is unavailable';
/**
 * Go's `__ServerAddress` (share.ServerAddress): the answering server's address, which the
 * per-connection {@link Client} adds to non-empty response metadata (Go: `client.Client.call`).
 */
export const SERVER_ADDRESS_KEY = MetaKey.ServerAddress;

/**
 * Options of an {@link XClient} (Go: `client.Option` plus `NewXClient`'s arguments). The
 * connection options of {@link ClientOptions} apply to every per-server {@link Client}
 * (`reconnect` excepted: like Go, the XClient replaces a broken connection on the next call).
 */
export interface XClientOptions extends Omit<ClientOptions, 'reconnect'> {
  /** Where the servers come from. */
  discovery: ServiceDiscovery;
  /** Default `Failover`. */
  failMode?: FailMode;
  /** Default `RandomSelect`. */
  selectMode?: SelectMode;
  /** Keep only servers whose metadata `group` includes this (Go: `Option.Group`). */
  group?: string;
  /** Extra attempts of Failover/Failtry (Go: `Option.Retries`, default 3). */
  retries?: number;
  /** Pause between attempts in ms (Go: `Option.RetryInterval`, default 0). */
  retryIntervalMs?: number;
  /** Failbackup: send the backup request after this many ms (Go: `Option.BackupLatency`, default 10). */
  backupLatencyMs?: number;
  /** Keep using the selected server until it fails (Go: `Option.Sticky`). */
  sticky?: boolean;
  /** Makes the circuit breaker of each server (Go: `Option.GenBreaker`), e.g. `() => new ConsecCircuitBreaker(5, 30_000)`. */
  genBreaker?: () => Breaker;
  /** The selector of `SelectByUser` (Go: `XClient.SetSelector`). */
  selector?: Selector;
  /** The client's position for `Closest` (Go: `XClient.ConfigGeoSelector`). */
  geo?: { latitude: number; longitude: number };
  /**
   * ConsistentHash key: Go `%v` options for the args (`{ pointer: true }` when the Go callers
   * you must agree with pass `&Args{}`), or a function giving the key string (FNV-1a hashed)
   * or the 64-bit key.
   */
  hashKey?: GoFormatOptions | ((servicePath: string, serviceMethod: string, args: unknown) => string | bigint);
  /** WeightedICMP: how to measure a server's round trip (default: TCP connect time). */
  rttProbe?: RttProbe;
  /** Cap of broadcast/fork/inform in ms (Go: one minute). */
  fanOutTimeoutMs?: number;
}

/**
 * A status change of one of an XClient's connections: the {@link ClientStatus} of its per-server
 * {@link Client}, whose `address` is the server key (`network@host:port`, as in
 * {@link XClient.serverMap}).
 */
export type XClientStatus = ClientStatus;

/** Per-call options of an XClient: those of {@link CallOptions}. */
export type XCallOptions = CallOptions;

interface CallCtx {
  metadata: Map<string, string>;
  signal: AbortSignal | undefined;
  deadline: number | undefined;
}

interface Selected {
  k: string;
  client: Client | undefined;
  err: RpcxError | undefined;
}

const noop = (): void => {};

/**
 * A client for one service over many servers, with fail modes, selectors, fan-out, circuit
 * breakers and discovery (Go: `client.XClient` from `NewXClient`). One {@link Client} (one
 * connection) is cached per server key; a connection that broke is replaced on next use, and
 * the connections of servers removed by discovery are closed.
 *
 * Every call takes `{ signal, timeoutMs, deadline }`; with a deadline (`timeoutMs` or
 * `deadline`), `__ServerTimeout` (the remaining ms) travels with each attempt, as Go's
 * `setServerTimeout` does. A signal aborted with a `TimeoutError` (`AbortSignal.timeout`)
 * rejects with TIMEOUT but sends no `__ServerTimeout` (see {@link CallOptions.signal}).
 */
export class XClient {
  readonly servicePath: string;
  protected failMode: FailMode;
  protected selectMode: SelectMode;
  private readonly options: XClientOptions;
  private readonly clientOptions: ClientOptions;
  private servers: Map<string, string> = new Map();
  private selector: Selector | undefined;
  /** True once setSelector / configGeoSelector ran: discovery's first list must not replace it. */
  private configured = false;
  private readonly cached = new Map<string, Client>();
  private readonly dialing = new Map<string, Promise<Client>>();
  private readonly breakers = new Map<string, Breaker>();
  private sticky: { k: string; client: Client } | undefined;
  private authToken: string | undefined;
  private shutdown = false;
  private readonly ready: Promise<void>;
  private watcher: AsyncIterator<readonly KVPair[]> | undefined;
  private readonly statusQueues = new Set<AsyncQueue<XClientStatus>>();
  private readonly statusCallbacks = new Set<(s: XClientStatus) => void>();
  /** What the servers may call on this XClient's connections (`register` & co.), one registry for every client. */
  private readonly services = new ServiceRegistry();

  constructor(servicePath: string, options: XClientOptions) {
    this.servicePath = servicePath;
    this.options = options;
    this.failMode = options.failMode ?? FailMode.Failover;
    this.selectMode = options.selectMode ?? SelectMode.RandomSelect;
    this.authToken = options.auth;
    const {
      discovery: _d,
      failMode: _f,
      selectMode: _s,
      group: _g,
      retries: _r,
      retryIntervalMs: _ri,
      backupLatencyMs: _b,
      sticky: _st,
      genBreaker: _gb,
      selector: _sel,
      geo: _geo,
      hashKey: _h,
      rttProbe: _rtt,
      fanOutTimeoutMs: _fo,
      auth: _a,
      ...clientOptions
    } = options;
    this.clientOptions = { ...clientOptions, services: this.services };
    this.ready = this.init();
    this.ready.catch(noop);
  }

  // ---------- serving the servers (beyond Go) ----------

  /**
   * Registers the methods of `instance` for the servers to call over this XClient's connections
   * (`ctx.connection.call(path, method, args)` on a server): {@link Client.register} for every
   * connection the XClient has or will make. Returns the service name. Go rpcx has no counterpart
   * (docs/bidirectional.md).
   */
  register(instance: object, options?: RegisterOptions): string {
    return this.services.register(instance, options);
  }

  /** Registers `fn` as `servicePath.name` for the servers to call, on every connection ({@link Client.registerFunction}). */
  registerFunction(servicePath: string, fn: Handler, name?: string, options?: RegisterFunctionOptions): string {
    return this.services.registerFunction(servicePath, fn, name, options);
  }

  /** Adds a raw handler for the servers to call, on every connection ({@link Client.addHandler}). */
  addHandler(servicePath: string, serviceMethod: string, handler: RawHandler): void {
    this.services.addHandler(servicePath, serviceMethod, handler);
  }

  // ---------- setup ----------

  private async init(): Promise<void> {
    // Watch before listing, so a change between the two is not lost (the feed keeps it).
    const feed = this.options.discovery.watch();
    const it = feed?.[Symbol.asyncIterator]();
    this.watcher = it;
    const pairs = await this.options.discovery.getServices();
    this.servers = this.toServers(pairs);
    const servers = this.servers;
    if (this.configured) {
      // setSelector / configGeoSelector ran before the servers arrived (Go's XClient has its
      // servers when NewXClient returns, so there it always comes after): give it the servers now.
      this.selector?.updateServer(servers);
    } else {
      const mode = this.selectMode;
      if (mode === SelectMode.SelectByUser) {
        if (this.options.selector !== undefined) this.setSelector(this.options.selector);
      } else if (mode === SelectMode.Closest) {
        if (this.options.geo !== undefined) this.configGeoSelector(this.options.geo.latitude, this.options.geo.longitude);
      } else {
        this.selector = this.newSelector(mode, servers);
      }
    }
    if (it !== undefined) void this.watchLoop(it);
    if (this.selector instanceof WeightedRttSelector) await this.selector.ready;
  }

  private newSelector(mode: SelectMode, servers: ServerMap): Selector {
    switch (mode) {
      case SelectMode.RoundRobin:
        return new RoundRobinSelector(servers);
      case SelectMode.WeightedRoundRobin:
        return new WeightedRoundRobinSelector(servers);
      case SelectMode.WeightedICMP:
        return new WeightedRttSelector(servers, this.options.rttProbe);
      case SelectMode.ConsistentHash:
        return new ConsistentHashSelector(servers, this.options.hashKey);
      default:
        return new RandomSelector(servers);
    }
  }

  /** Go: sort the pairs by key, fill the map, `filterByStateAndGroup`. */
  private toServers(pairs: readonly KVPair[]): Map<string, string> {
    const sorted = [...pairs].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const servers = new Map<string, string>();
    for (const p of sorted) servers.set(p.key, p.value);
    filterByStateAndGroup(this.options.group ?? '', servers);
    return servers;
  }

  private async watchLoop(it: AsyncIterator<readonly KVPair[]>): Promise<void> {
    try {
      for (;;) {
        const r = await it.next();
        if (r.done || this.shutdown) return;
        this.updateServers(r.value);
      }
    } catch (err) {
      if (log.enabled) log('%s: discovery watch ended: %s', this.servicePath, (err as Error).message);
    }
  }

  /** Applies a new server list (what a discovery watch delivers); connections to removed servers are closed. */
  private updateServers(pairs: readonly KVPair[]): void {
    const servers = this.toServers(pairs);
    this.servers = servers;
    this.selector?.updateServer(servers);
    for (const [k, client] of [...this.cached]) {
      if (!servers.has(k)) {
        this.cached.delete(k);
        if (this.sticky?.client === client) this.sticky = undefined;
        void client.close({ graceful: true, timeoutMs: 5_000 });
      }
    }
    if (log.enabled) log('%s: servers now %o', this.servicePath, [...servers.keys()]);
  }

  // ---------- public API ----------

  /** Sets the auth token sent as `__AUTH` with every call (Go: `XClient.Auth`). */
  auth(token: string): void {
    this.authToken = token;
  }

  /**
   * Replaces the selector (Go: `XClient.SetSelector`); it gets the current servers at once and
   * every later list. May be called at any time, also right after construction, before
   * discovery has answered: the selector then gets the servers when they arrive, and the
   * calls made meanwhile wait for them.
   */
  setSelector(selector: Selector): void {
    selector.updateServer(this.servers);
    this.selector = selector;
    this.configured = true;
  }

  /**
   * Selects the nearest server from now on (Go: `XClient.ConfigGeoSelector`, which also sets
   * the select mode to `Closest`). Like {@link setSelector}, works at any time.
   */
  configGeoSelector(latitude: number, longitude: number): void {
    this.selector = new GeoSelector(this.servers, latitude, longitude);
    this.selectMode = SelectMode.Closest;
    this.configured = true;
  }

  /** Resolves once the first server list is in (and, for WeightedICMP, measured). */
  async whenReady(): Promise<void> {
    await this.ready;
  }

  /** The current servers after filtering (`network@address` -> metadata). */
  get serverMap(): ReadonlyMap<string, string> {
    return this.servers;
  }

  /**
   * Status changes of every connection this XClient opens, merged, as an async iterable; ends at
   * `close()`. Each event is a {@link ClientStatus} whose `address` names the server: a server
   * dropping shows as `disconnected` (with the error), its return as `connecting` /
   * `connected` when a call dials it again (the XClient reconnects on use, as Go's does), a
   * connection the XClient drops (broken, or its server removed by discovery) as `closed`.
   * Go has no such feed (a Go program sees a drop only as a call's error).
   */
  status(): AsyncIterable<XClientStatus> {
    const q = new AsyncQueue<XClientStatus>(Number.MAX_SAFE_INTEGER);
    if (this.shutdown) q.end();
    else this.statusQueues.add(q);
    return q;
  }

  /** The same feed to a callback (an exception it throws is logged and swallowed); returns an unsubscribe function. */
  onStatus(cb: (s: XClientStatus) => void): () => void {
    this.statusCallbacks.add(cb);
    return () => this.statusCallbacks.delete(cb);
  }

  private emitStatus(s: XClientStatus): void {
    for (const q of this.statusQueues) q.push(s);
    for (const cb of this.statusCallbacks) {
      try {
        cb(s);
      } catch (err) {
        if (log.enabled) log('%s: onStatus callback threw: %O', this.servicePath, err);
      }
    }
  }

  /** Server keys with a cached connection. */
  get connectedServers(): string[] {
    return [...this.cached.keys()];
  }

  /** Calls `serviceMethod` and resolves to the reply, handling failures by the fail mode (Go: `XClient.Call`). */
  async call<T = unknown>(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<T> {
    return (await this.invoke(serviceMethod, args, options, false)) as T;
  }

  /**
   * Like {@link call}, with the response metadata; non-empty metadata also gets
   * `__ServerAddress`, the answering server's address as {@link Client.callWithMetadata} gives
   * it (Go: the per-server `client.Client` adds it to the caller's map).
   */
  async callWithMetadata<T = unknown>(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<CallResult<T>> {
    return (await this.invoke(serviceMethod, args, options, true)) as CallResult<T>;
  }

  /**
   * Go `XClient.Stream`: calls `Stream` on this XClient's service path (`_streamservice`, as in
   * Go), dials the returned address and resolves with the raw byte stream as a half-open Duplex.
   */
  stream(metadata?: MetadataInit, options?: ByteStreamOptions): Promise<Duplex> {
    return openByteStream(this.tokenCaller, this.options.serializeType ?? SerializeType.MsgPack, metadata, options);
  }

  /** Go `XClient.SendFile`: `TransferFile` on this service path (`_filetransfer`); resolves with the bytes sent. */
  sendFile(source: string | Readable, options?: SendFileOptions): Promise<number> {
    return sendFileVia(this.tokenCaller, this.options.serializeType ?? SerializeType.MsgPack, source, options);
  }

  /** Go `XClient.DownloadFile`: `DownloadFile` on this service path (`_filetransfer`); resolves with the bytes received. */
  downloadFile(name: string, destination: string | Writable, options?: DownloadFileOptions): Promise<number> {
    return downloadFileVia(this.tokenCaller, this.options.serializeType ?? SerializeType.MsgPack, name, destination, options);
  }

  /**
   * A message stream to the stream handler `servicePath.method`, opened through `Stream` on this
   * XClient's service path (`_streamservice`), so it follows the selector and fail mode.
   */
  openStream<Req = unknown, Res = unknown>(servicePath: string, method: string, options?: OpenStreamOptions): Promise<MessageStream<Req, Res>> {
    return openMessageStream(this.tokenCaller, this.options.serializeType ?? SerializeType.MsgPack, this.options.codecs ?? defaultCodecRegistry(), servicePath, method, options);
  }

  private readonly tokenCaller: TokenCaller = (m, a, o) => this.call(m, a, o);

  /**
   * Sends a oneway request to one selected server (Go: `XClient.Oneshot`): no reply, no fail
   * mode. Resolves once the frame is written.
   */
  async oneshot(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<void> {
    const ctx = await this.begin(options);
    const sel = await this.selectClient(this.servicePath, serviceMethod, args, ctx);
    if (sel.err !== undefined) throw sel.err;
    await sel.client!.oneway(this.servicePath, serviceMethod, args, this.attemptOptions(options, ctx));
  }

  /**
   * Sends a message as given to a selected server (Go: `XClient.SendRaw`), with auth and
   * `__ServerTimeout` added to a copy of its metadata. Failover and Failtry retry as for calls
   * (Failbackup acts as Failfast, as in Go). The seq is the caller's: it must not collide with
   * calls in flight on the same connection.
   */
  async sendRaw(msg: Message, options: Pick<XCallOptions, 'signal' | 'timeoutMs' | 'deadline'> = {}): Promise<RawResult> {
    const ctx = await this.begin(options);
    let { k, client, err } = await this.selectClient(msg.servicePath, msg.serviceMethod, msg.payload, ctx);
    if (err !== undefined && (this.failMode === FailMode.Failfast || isCancel(err) || err instanceof ServiceError)) throw err;
    const send = (c: Client): Promise<RawResult> => {
      const metadata = new Map(ctx.metadata);
      for (const [mk, mv] of msg.metadata) metadata.set(mk, mv);
      const timeoutMs = remaining(ctx);
      if (timeoutMs !== undefined) metadata.set(MetaKey.ServerTimeout, String(timeoutMs));
      return c.sendRaw({ ...msg, metadata }, { ...(ctx.signal ? { signal: ctx.signal } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    };
    if (this.failMode !== FailMode.Failover && this.failMode !== FailMode.Failtry) {
      if (client === undefined) throw err ?? unavailable();
      try {
        return await send(client);
      } catch (e) {
        const x = RpcxError.from(e);
        if (dropsConnection(x)) this.removeClient(k, client);
        throw x;
      }
    }
    let e: RpcxError | undefined;
    for (let retries = this.retries; retries >= 0; retries--) {
      if (client !== undefined) {
        try {
          return await send(client);
        } catch (x) {
          err = RpcxError.from(x);
          if (isCancel(err) || err instanceof ServiceError) throw err;
        }
      }
      if (err !== undefined && dropsConnection(err)) this.removeClient(k, client);
      if (retries === 0) break;
      if (this.failMode === FailMode.Failtry) {
        ({ client, err: e } = await this.cachedClientFor(k, ctx));
      } else {
        ({ k, client, err: e } = await this.selectClient(msg.servicePath, msg.serviceMethod, msg.payload, ctx));
      }
    }
    // Go's SendRaw returns no error here when the last attempts failed on a connection
    // (a shadowed err); this returns the last error.
    throw err ?? e ?? unavailable();
  }

  /**
   * Calls every server; resolves to a reply once all succeeded, rejects with a
   * {@link MultiError} at the first failure (Go: `XClient.Broadcast`). Servers that cannot be
   * connected are skipped, as in Go; with none left it rejects with `can not found any server`.
   */
  async broadcast<T = unknown>(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<T> {
    return this.fanOut<T>(serviceMethod, args, options, 'broadcast') as Promise<T>;
  }

  /** Calls every server; resolves to the first success, rejects when all failed (Go: `XClient.Fork`). */
  async fork<T = unknown>(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<T> {
    return this.fanOut<T>(serviceMethod, args, options, 'fork') as Promise<T>;
  }

  /**
   * Calls every server and waits for all; resolves to one receipt per called server in the
   * order they finished (Go: `XClient.Inform`). Go also returns the joined error and puts that
   * shared error in every receipt; here each receipt carries its own server's error.
   */
  async inform<T = unknown>(serviceMethod: string, args: unknown, options: XCallOptions = {}): Promise<Receipt<T>[]> {
    return this.fanOut<T>(serviceMethod, args, options, 'inform') as Promise<Receipt<T>[]>;
  }

  /** A typed proxy: `xc.proxy<Arith>().Mul({ A: 2, B: 3 })` calls `Mul` through this XClient. */
  proxy<T extends object>(): ServiceProxy<T> {
    return createProxy<T>(this);
  }

  /** Closes every connection and stops watching discovery (Go: `XClient.Close`); later calls fail with `xClient is shut down`. */
  async close(): Promise<void> {
    if (this.shutdown) return;
    this.shutdown = true;
    void this.watcher?.return?.();
    const clients = [...this.cached.values()];
    this.cached.clear();
    this.sticky = undefined;
    await Promise.all(clients.map((c) => c.close({ graceful: false })));
    for (const q of this.statusQueues) q.end();
    this.statusQueues.clear();
    this.statusCallbacks.clear();
    this.onClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------- hooks for the bidirectional variant ----------

  /** Called once per new per-server Client, before it is used. */
  protected onClientCreated(_client: Client): void {}
  /** Called at the end of {@link close}. */
  protected onClosed(): void {}

  // ---------- internals ----------

  private get retries(): number {
    return this.options.retries ?? 3;
  }

  /** Starts a call: shutdown check, waits for discovery, builds the metadata (auth) and deadline. */
  private async begin(options: Pick<XCallOptions, 'signal' | 'timeoutMs' | 'deadline' | 'metadata'>): Promise<CallCtx> {
    if (this.shutdown) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_SHUTDOWN);
    const ms = callTimeoutMs(options);
    const deadline = ms !== undefined ? performance.now() + ms : undefined;
    await this.ready;
    if (this.shutdown) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_SHUTDOWN);
    if (options.signal?.aborted) throw abortError(options.signal);
    const metadata = toMetadataMap(options.metadata);
    if (this.authToken !== undefined && this.authToken !== '') metadata.set(MetaKey.Auth, this.authToken);
    return { metadata, signal: options.signal, deadline };
  }

  private attemptOptions(options: XCallOptions, ctx: CallCtx, signal = ctx.signal): CallOptions {
    const out: CallOptions = { ...options, metadata: ctx.metadata };
    delete out.signal;
    delete out.timeoutMs;
    delete out.deadline;
    if (signal !== undefined) out.signal = signal;
    const ms = remaining(ctx);
    if (ms !== undefined) out.timeoutMs = ms;
    return out;
  }

  /** Go's `selectClient`: the sticky server, else the selector's pick, connected. */
  private async selectClient(servicePath: string, serviceMethod: string, args: unknown, ctx: CallCtx): Promise<Selected> {
    if (this.options.sticky && this.sticky !== undefined) {
      if (this.sticky.client.isConnected) return { k: this.sticky.k, client: this.sticky.client, err: undefined };
      this.sticky = undefined;
    }
    const selector = this.selector;
    if (selector === undefined) {
      const why = this.selectMode === SelectMode.Closest ? 'Closest needs configGeoSelector' : 'SelectByUser needs a selector (setSelector)';
      return { k: '', client: undefined, err: new RpcxError(ErrorCode.INVALID_ARGUMENT, why) };
    }
    const k = selector.select(servicePath, serviceMethod, args, { metadata: ctx.metadata });
    if (k === '') return { k, client: undefined, err: new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER) };
    const r = await this.cachedClientFor(k, ctx);
    if (this.options.sticky && r.client !== undefined) this.sticky = { k, client: r.client };
    return { k, ...r };
  }

  private async cachedClientFor(k: string, ctx: CallCtx): Promise<{ client: Client | undefined; err: RpcxError | undefined }> {
    try {
      return { client: await this.getCachedClient(k, ctx, true), err: undefined };
    } catch (err) {
      return { client: undefined, err: RpcxError.from(err, ErrorCode.CONNECTION) };
    }
  }

  /** Go's `getCachedClient`: breaker check, the cached connection if alive, else one dial per key at a time. */
  private async getCachedClient(k: string, ctx: CallCtx, checkBreaker: boolean): Promise<Client> {
    if (this.shutdown) throw new RpcxError(ErrorCode.CONNECTION, 'this xclient is closed');
    const breaker = this.breakers.get(k);
    if (checkBreaker && breaker !== undefined && !breaker.ready()) throw new RpcxError(ErrorCode.CONNECTION, BREAKER_OPEN);
    const cached = this.cached.get(k);
    if (cached !== undefined) {
      if (cached.isConnected) return cached;
      this.cached.delete(k);
      void cached.close({ graceful: false });
    }
    let dialing = this.dialing.get(k);
    if (dialing === undefined) {
      dialing = this.generateClient(k).finally(() => this.dialing.delete(k));
      this.dialing.set(k, dialing);
    }
    const signal = ctx.signal;
    const ms = remaining(ctx);
    if (signal === undefined && ms === undefined) return dialing;
    return raceDeadline(dialing, signal, ms);
  }

  private async generateClient(k: string): Promise<Client> {
    let breaker: Breaker | undefined;
    if (this.options.genBreaker !== undefined) {
      breaker = this.breakers.get(k);
      if (breaker === undefined) {
        breaker = this.options.genBreaker();
        this.breakers.set(k, breaker);
      }
    }
    const client = new Client(k, this.clientOptions);
    client.onStatus((st) => this.emitStatus(st));
    try {
      await client.connect();
    } catch (err) {
      breaker?.fail();
      void client.close({ graceful: false });
      throw err;
    }
    if (this.shutdown || !this.servers.has(k)) {
      // closed, or the server was removed while we dialed: use it for this call only
      setImmediate(() => void client.close({ graceful: true, timeoutMs: 5_000 }));
      return client;
    }
    this.onClientCreated(client);
    this.cached.set(k, client);
    return client;
  }

  /** Go's `removeClient`: forget the sticky server, drop the cached connection and close it. */
  private removeClient(k: string, client: Client | undefined): void {
    if (this.options.sticky) this.sticky = undefined;
    if (client === undefined) return;
    if (this.cached.get(k) === client) this.cached.delete(k);
    void client.close({ graceful: false });
  }

  private async attempt(k: string, client: Client, serviceMethod: string, args: unknown, options: XCallOptions, ctx: CallCtx, withMeta: boolean, signal = ctx.signal): Promise<unknown> {
    if (ctx.deadline !== undefined && remaining(ctx)! <= 0) throw new RpcxError(ErrorCode.TIMEOUT, 'context deadline exceeded');
    const o = this.attemptOptions(options, ctx, signal);
    // Go's XClient adds nothing itself: `__ServerAddress` comes from the Client, as in Go.
    if (!withMeta) return client.call(this.servicePath, serviceMethod, args, o);
    return client.callWithMetadata(this.servicePath, serviceMethod, args, o);
  }

  private async invoke(serviceMethod: string, args: unknown, options: XCallOptions, withMeta: boolean): Promise<unknown> {
    const ctx = await this.begin(options);
    if (this.failMode === FailMode.Failbackup) return this.failbackup(serviceMethod, args, options, ctx, withMeta);
    let { k, client, err } = await this.selectClient(this.servicePath, serviceMethod, args, ctx);
    if (err !== undefined && (this.failMode === FailMode.Failfast || isCancel(err))) throw err;
    if (this.failMode !== FailMode.Failover && this.failMode !== FailMode.Failtry) {
      // Failfast (and unknown modes, as Go's default branch)
      try {
        if (client === undefined) throw unavailable();
        return await this.attempt(k, client, serviceMethod, args, options, ctx, withMeta);
      } catch (e) {
        const x = RpcxError.from(e);
        if (dropsConnection(x)) this.removeClient(k, client);
        throw x;
      }
    }
    let e: RpcxError | undefined;
    const interval = this.options.retryIntervalMs ?? 0;
    for (let retries = this.retries; retries >= 0; retries--) {
      if (client !== undefined) {
        try {
          return await this.attempt(k, client, serviceMethod, args, options, ctx, withMeta);
        } catch (x) {
          err = RpcxError.from(x);
          if (isCancel(err) || err instanceof ServiceError) throw err;
          if (log.enabled) log('%s.%s on %s failed: %s', this.servicePath, serviceMethod, k, err.message);
        }
      }
      if (err !== undefined && dropsConnection(err)) this.removeClient(k, client);
      if (retries === 0) break;
      if (interval > 0) await sleep(interval, ctx.signal);
      if (this.failMode === FailMode.Failtry) {
        ({ client, err: e } = await this.cachedClientFor(k, ctx));
      } else {
        ({ k, client, err: e } = await this.selectClient(this.servicePath, serviceMethod, args, ctx));
      }
      if (e !== undefined && isCancel(e)) throw e;
    }
    throw err ?? e ?? unavailable();
  }

  /**
   * Go's Failbackup: one request; if it has not finished within `backupLatencyMs`, a second
   * (selected again); whichever finishes first wins, error or not, and the other is cancelled.
   * Deviation: when the backup cannot be sent Go returns the first request's *send* error,
   * which is nil, as a success without a reply; here the first request is awaited instead.
   */
  private async failbackup(serviceMethod: string, args: unknown, options: XCallOptions, ctx: CallCtx, withMeta: boolean): Promise<unknown> {
    const ac = new AbortController();
    const signal = ctx.signal !== undefined ? linkSignals(ctx.signal, ac.signal) : ac.signal;
    const go = async (): Promise<unknown> => {
      const sel = await this.selectClient(this.servicePath, serviceMethod, args, ctx);
      if (sel.err !== undefined) throw sel.err;
      return this.attempt(sel.k, sel.client!, serviceMethod, args, options, ctx, withMeta, signal);
    };
    try {
      const first = go();
      first.catch(noop);
      const latency = this.options.backupLatencyMs ?? 10;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'backup'>((resolve) => {
        timer = setTimeout(() => resolve('backup'), latency);
      });
      const r = await Promise.race([first.then((v) => ({ v }), (err: unknown) => ({ err })), timedOut, abortPromise(ctx.signal)]);
      clearTimeout(timer);
      if (r !== 'backup') {
        if ('err' in r) throw r.err;
        return r.v;
      }
      // the backup; if no server can be selected for it, the first request decides alone
      const second = (async (): Promise<unknown> => {
        const sel = await this.selectClient(this.servicePath, serviceMethod, args, ctx);
        if (sel.err !== undefined) return first;
        return this.attempt(sel.k, sel.client!, serviceMethod, args, options, ctx, withMeta, signal);
      })();
      second.catch(noop);
      return await Promise.race([first, second, abortPromise(ctx.signal)]);
    } finally {
      ac.abort(new RpcxError(ErrorCode.CANCELLED, 'context canceled'));
    }
  }

  private async fanOut<T>(serviceMethod: string, args: unknown, options: XCallOptions, kind: 'broadcast' | 'fork' | 'inform'): Promise<T | Receipt<T>[]> {
    const ctx = await this.begin(options);
    const keys = [...this.servers.keys()];
    // Go: getCachedClientWithoutLock for every server; a server that cannot be connected is skipped (no breaker check).
    const dialed = await Promise.all(keys.map((k) => this.getCachedClient(k, ctx, false).then((c) => [k, c] as const, () => undefined)));
    const clients = dialed.filter((x): x is readonly [string, Client] => x !== undefined);
    if (clients.length === 0) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER);

    const cap = new AbortController();
    let capped = false;
    const capTimer = setTimeout(() => {
      capped = true;
      cap.abort(new RpcxError(ErrorCode.TIMEOUT, 'context deadline exceeded'));
    }, this.options.fanOutTimeoutMs ?? 60_000);
    const signal = ctx.signal !== undefined ? linkSignals(ctx.signal, cap.signal) : cap.signal;
    try {
      const calls = clients.map(([k, client]) => [k, this.attempt(k, client, serviceMethod, args, options, ctx, false, signal) as Promise<T>] as const);
      return await settleFanOut<T>(kind, calls, () => capped, (k, err) => {
        if (dropsConnection(err)) this.removeClient(k, clients.find(([key]) => key === k)![1]);
      });
    } finally {
      clearTimeout(capTimer);
      // Go: the deferred cancel of the fan-out ctx abandons the calls still in flight.
      cap.abort(new RpcxError(ErrorCode.CANCELLED, 'context canceled'));
    }
  }
}

/**
 * An XClient that also receives server pushes from every connection, merged into one stream
 * (Go: `NewBidirectionalXClient(..., serverMessageChan)`). Consume with {@link messages} (an
 * async iterable) or {@link onMessage}, not both. The policy is the {@link Client}'s: with no
 * consumer attached pushes are discarded and counted; with a full buffer `drop` (default, Go's
 * `BidirectionalBlock: false`) drops and counts them, and `block` stops reading the pushing
 * connection until the consumer makes room (replies on that connection then wait too). A dying
 * connection contributes Go's synthetic message (status Error, metadata `__rpcx_error__` and
 * `server`).
 */
export class BidirectionalXClient extends XClient {
  private readonly pushStream: PushStream<Message>;

  constructor(servicePath: string, options: XClientOptions) {
    // The per-connection Clients hand every push to `pump` losslessly (`block`: a Client pauses its
    // socket rather than drop while the pump waits); the merged stream applies the caller's policy.
    super(servicePath, { ...options, pushPolicy: 'block' });
    this.pushStream = new PushStream<Message>(options.pushBufferSize ?? 1024, options.pushPolicy ?? 'drop');
  }

  /**
   * Pushes from every server as one async iterable; ends at `close()`. Obtaining the iterator
   * attaches the consumer: until then pushes are discarded (see {@link Client.messages}).
   */
  messages(): AsyncIterable<Message> {
    return this.pushStream.iterable;
  }

  /** Pushes from every server to a callback instead; an exception it throws is logged and swallowed. */
  onMessage(cb: (msg: Message) => void): void {
    this.pushStream.setCallback(cb, this.servicePath);
  }

  /** Pushes not delivered: discarded for want of a consumer plus dropped on overflow under `drop`. */
  get droppedMessages(): number {
    return this.pushStream.discardedCount + this.pushStream.overflowCount;
  }

  /** Pushes discarded because no consumer was attached; included in {@link droppedMessages}. */
  get discardedMessages(): number {
    return this.pushStream.discardedCount;
  }

  protected override onClientCreated(client: Client): void {
    void this.pump(client);
  }

  protected override onClosed(): void {
    this.pushStream.end();
  }

  /**
   * Moves one connection's pushes into the merged stream. Under `block` a full stream holds this
   * loop, which leaves them in that Client's own buffer until it pauses its socket.
   */
  private async pump(client: Client): Promise<void> {
    for await (const msg of client.messages()) {
      while (this.pushStream.mustWait) await this.pushStream.whenResumed();
      if (this.pushStream.offer(msg) === 'closed') return;
    }
  }
}

/** Creates an {@link XClient} for `servicePath` (Go: `client.NewXClient`). */
export function createXClient(servicePath: string, options: XClientOptions): XClient {
  return new XClient(servicePath, options);
}

/** Creates a {@link BidirectionalXClient} (Go: `client.NewBidirectionalXClient`). */
export function createBidirectionalXClient(servicePath: string, options: XClientOptions): BidirectionalXClient {
  return new BidirectionalXClient(servicePath, options);
}

// ---------- helpers ----------

/** `network@address` -> `address` (Go's receipts). */
/** Go's `contextCanceled`: the call's own deadline or cancellation. */
function isCancel(err: RpcxError): boolean {
  return err.code === ErrorCode.TIMEOUT || err.code === ErrorCode.CANCELLED;
}

/**
 * Go's `uncoverError` decides when a failed call drops its cached connection: anything but a
 * ServiceError, deadline or cancellation. Deviation: local errors that say nothing about the
 * connection (encoding the args, the pending-call limit, bad arguments) keep it here, where
 * Go would close a healthy connection and fail the other calls in flight on it.
 */
function dropsConnection(err: RpcxError): boolean {
  if (err instanceof ServiceError || isCancel(err)) return false;
  return err.code !== ErrorCode.CODEC && err.code !== ErrorCode.LIMIT && err.code !== ErrorCode.INVALID_ARGUMENT;
}

function unavailable(): RpcxError {
  return new RpcxError(ErrorCode.CONNECTION, SERVER_UNAVAILABLE);
}

function remaining(ctx: CallCtx): number | undefined {
  if (ctx.deadline === undefined) return undefined;
  return Math.max(0, Math.floor(ctx.deadline - performance.now()));
}

/** A signal aborted when either input is (AbortSignal.any without relying on Node ≥ 20.3). */
function linkSignals(a: AbortSignal, b: AbortSignal): AbortSignal {
  const ac = new AbortController();
  if (a.aborted) ac.abort(a.reason);
  else if (b.aborted) ac.abort(b.reason);
  else {
    const onA = (): void => {
      b.removeEventListener('abort', onB);
      ac.abort(a.reason);
    };
    const onB = (): void => {
      a.removeEventListener('abort', onA);
      ac.abort(b.reason);
    };
    a.addEventListener('abort', onA, { once: true });
    b.addEventListener('abort', onB, { once: true });
  }
  return ac.signal;
}

/** Never resolves; rejects when `signal` aborts (for races). */
function abortPromise(signal: AbortSignal | undefined): Promise<never> {
  if (signal === undefined) return new Promise<never>(noop);
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(abortError(signal)), { once: true }));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for `p` but gives up on abort or after `ms` (the call's deadline) with CANCELLED / TIMEOUT. */
function raceDeadline<T>(p: Promise<T>, signal: AbortSignal | undefined, ms: number | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(abortError(signal!));
    };
    if (signal?.aborted) return reject(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (ms !== undefined) {
      timer = setTimeout(() => {
        done();
        reject(new RpcxError(ErrorCode.TIMEOUT, 'context deadline exceeded'));
      }, ms);
    }
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}
