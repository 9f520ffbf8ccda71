import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import { defaultCodecRegistry } from '../codec/defaults.js';
import type { CompressorTable } from '../protocol/compress.js';
import { pushMessage } from '../protocol/heartbeat.js';
import { DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_DECOMPRESSED_LENGTH, toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';
import { defaultCompressors } from '../node/gzip.js';
import { FrameConnection } from '../node/frame-connection.js';
import { ServerConnection, type ConnectionLimits } from './connection.js';
import { TagIndex } from './tags.js';
import { Dispatcher, type AuthFunc } from './dispatch.js';
import { listen, type Listener, type ServeNetwork } from './listen.js';
import { PluginContainer, type ServerPlugin } from './plugins.js';
import { enableFileTransfer, enableStreamService, type FileTransferOptions, type SideService, type StreamHandler, type StreamServiceOptions } from '../stream/service.js';
import { ServiceRegistry, type Handler, type RawHandler, type RegisterFunctionOptions, type RegisterOptions } from './registry.js';
import type { BroadcastResult, ServerHandle } from './types.js';
import { PortDemux, type CorsOptions } from '../gateway/index.js';

export type { BroadcastResult } from './types.js';

const log = createDebug('rpcx:server');
const EMPTY = new Uint8Array(0);

/** Options of {@link createServer} (Go: `server.NewServer(options...)` plus the `Server` fields). */
export interface ServerOptions {
  /** Codecs by serialize type; default JSON, MsgPack and raw (Go's `share.Codecs`). Add protobuf/thrift here. */
  codecs?: CodecRegistry;
  /** Compressors by compress type; default gzip (Go's `protocol.Compressors`). */
  compressors?: CompressorTable;
  /** Go `Server.AuthFunc`: see {@link AuthFunc}. */
  authFunc?: AuthFunc;
  /** Plugins, in order (more with `server.plugins.add`). */
  plugins?: readonly ServerPlugin[];
  /**
   * Largest frame body (`totalLen`) accepted; a bigger frame closes that connection without a
   * reply (Go: `WithMaxMessageLength`, but per server here, not process-wide). 0 = no limit.
   * Default 64 MiB (Go's default is no limit).
   */
  maxMessageLength?: number;
  /** Largest payload after gunzip (Go: `WithMaxDecompressedLength`). Default 64 MiB. */
  maxDecompressedLength?: number;
  /** Most metadata entries in one frame. Default 65,536. */
  maxMetadataEntries?: number;
  /** Close a connection that sends no frame for this long (Go: `WithReadTimeout`). 0 (default) = never. */
  readTimeoutMs?: number;
  /** Close a connection whose output stays blocked this long (Go: `WithWriteTimeout`). 0 (default) = never. */
  writeTimeoutMs?: number;
  /** Handlers running at once per connection before reading it pauses. Default 4096. */
  maxInFlightPerConnection?: number;
  /** Reply bytes queued for a slow reader before reading its requests pauses. Default 16 MiB. */
  maxQueuedReplyBytes?: number;
  /** Serve TLS on tcp (Go: `WithTLSConfig`): key, cert, ca, ... as for `tls.createServer`. */
  tls?: TlsOptions;
  /** TCP keep-alive delay (Go: `WithTCPKeepAlivePeriod`, 3 min). 0 disables. */
  keepAliveMs?: number;
  /** CONNECT path of the `http` network (Go: `share.DefaultRPCPath`). Default `/_rpcx_`. */
  rpcPath?: string;
  /** Go `Server.ServerErrorFunc`: the text sent for a handler error, instead of its message. */
  serverErrorFunc?: (res: Message, err: unknown) => string;
  /** Go `Server.HandleServiceError`: sees every error a handler or the dispatch produced. */
  handleServiceError?: (err: unknown) => void;
  /**
   * Whether the `[service internal error]` text of a handler that crashed with a runtime error
   * (`TypeError`, `ReferenceError`, `RangeError`; Go: a recovered panic, `RpcServiceInternalError`)
   * ends with the JS stack, as Go's does. Default true. A stack tells whoever called the method
   * about the server's code and file layout: set false for servers that strangers call.
   */
  internalErrorStack?: boolean;
  /** Most tags one connection may carry (`conn.tag`); more throw LIMIT. Default 16. */
  maxTagsPerConnection?: number;
  /** Default deadline of a server-to-client call (`conn.call`), ms. Default 30,000. */
  peerCallTimeoutMs?: number;
  /** Most server-to-client calls pending per connection; more fail with LIMIT. Default 10,000. */
  maxPeerCallsPerConnection?: number;
  /** Go `Server.DisableHTTPGateway`: no HTTP gateway on the `tcp` port (docs/transports.md). */
  disableHTTPGateway?: boolean;
  /** Go `Server.DisableJSONRPC`: no JSON-RPC 2.0 on the `tcp` port. */
  disableJSONRPC?: boolean;
  /** Go `Server.SetCORS`: CORS for the gateway and JSON-RPC. */
  cors?: CorsOptions;
  /** A `tcp` connection that sends nothing this long is closed before it is routed (Go waits forever). Default 10 s. */
  sniffTimeoutMs?: number;
  /** Beyond Go: the `tcp` port also takes `CONNECT /_rpcx_` and WebSocket on `/_rpcx_` (docs/transports.md). Default false. */
  onePort?: boolean;
}

export interface ShutdownOptions {
  /** Give in-flight handlers this long to finish and their replies to flush. Default 10 s. */
  timeoutMs?: number;
}

/** Events of an {@link RpcxServer}. */
export interface ServerEvents {
  /** A connection was accepted (after the `postConnAccept` plugins). */
  connect: [conn: ServerConnection];
  /** A connection is gone; `err` says why unless it closed normally. */
  disconnect: [conn: ServerConnection, err: RpcxError | undefined];
  /** The listener is bound; `address` is `network@host:port`. */
  listening: [address: string];
  /** The server has closed. */
  close: [];
  /** A listener error after it was bound (emitted only if someone listens). */
  error: [err: Error];
}

/**
 * An rpcx server (Go: `server.Server`) that Go rpcx clients call without knowing it is Node:
 * same frames, same error texts, same dispatch rules. Register services, then `serve`.
 *
 * ```ts
 * const server = createServer();
 * server.register(new Arith());                 // Go: s.Register(new(Arith), "")
 * await server.serve('tcp', '127.0.0.1:8972');  // Go: s.Serve("tcp", "127.0.0.1:8972")
 * ```
 */
export class RpcxServer extends EventEmitter<ServerEvents> implements ServerHandle {
  /** Services, functions and raw handlers. */
  readonly registry = new ServiceRegistry();
  /** Go `Server.Plugins`. */
  readonly plugins = new PluginContainer();
  readonly codecs: CodecRegistry;

  readonly #compressors: CompressorTable;
  readonly #options: ServerOptions;
  readonly #limits: ConnectionLimits;
  readonly #dispatcher: Dispatcher;
  readonly #conns = new Set<ServerConnection>();
  readonly #tags: TagIndex<ServerConnection>;
  #listener: Listener | undefined;
  /** The router of a tcp port serving HTTP too (its HTTP connections are not in #conns). */
  #demux: PortDemux | undefined;
  #address: string | undefined;
  #seq = 0n;
  #shuttingDown = false;
  #closed = false;
  #shutdownPromise: Promise<void> | undefined;
  readonly #metadata = new Map<string, string>();
  #stopping: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    this.#options = options;
    this.codecs = options.codecs ?? defaultCodecRegistry();
    this.#compressors = options.compressors ?? defaultCompressors;
    for (const p of options.plugins ?? []) this.plugins.add(p);
    this.plugins.onAdd = (p) => {
      if (p.register === undefined) return;
      for (const [name, metadata] of this.#metadata) this.#announce([p], name, metadata);
    };
    this.#limits = {
      maxInFlight: Math.max(1, options.maxInFlightPerConnection ?? 4096),
      maxQueuedReplyBytes: options.maxQueuedReplyBytes ?? 16 * 1024 * 1024,
      readTimeoutMs: options.readTimeoutMs ?? 0,
      writeTimeoutMs: options.writeTimeoutMs ?? 0,
    };
    this.#tags = new TagIndex(Math.max(1, options.maxTagsPerConnection ?? 16));
    this.#dispatcher = new Dispatcher({
      server: this,
      registry: this.registry,
      codecs: this.codecs,
      plugins: this.plugins,
      authFunc: options.authFunc,
      serverErrorFunc: options.serverErrorFunc,
      handleServiceError: options.handleServiceError,
      internalErrorStack: options.internalErrorStack,
    });
  }

  /**
   * Registers the methods of `instance` as a service (Go: `Register`, `RegisterName`,
   * `RegisterWithMethods`). The name defaults to the class name; methods are the instance's own
   * and prototype methods (not `constructor`, not names starting with `_`), called by Go clients
   * by their exact, case-sensitive names. Returns the service name.
   */
  register(instance: object, options?: RegisterOptions): string {
    const name = this.registry.register(instance, options);
    this.#registered(name, options?.metadata);
    return name;
  }

  /** Registers `fn` as `servicePath.name` (Go: `RegisterFunction`/`RegisterFunctionName`); name defaults to `fn.name`. */
  registerFunction(servicePath: string, fn: Handler, name?: string, options?: RegisterFunctionOptions): string {
    const fname = this.registry.registerFunction(servicePath, fn, name, options);
    this.#registered(servicePath, options?.metadata);
    return fname;
  }

  /** Tells the registration plugins about a service (Go: `DoRegister`); its metadata is kept for plugins added later. */
  #registered(name: string, metadata: string | undefined): void {
    const known = this.#metadata.get(name);
    if (known !== undefined && (metadata === undefined || metadata === known)) return;
    const m = metadata ?? '';
    this.#metadata.set(name, m);
    this.#announce(this.plugins.register, name, m);
  }

  #announce(plugins: readonly ServerPlugin[], name: string, metadata: string): void {
    for (const p of plugins) {
      try {
        void Promise.resolve(p.register!(name, metadata)).catch((err: unknown) => log('plugin %s: register %s: %O', p.name ?? '?', name, err));
      } catch (err) {
        log('plugin %s: register %s: %O', p.name ?? '?', name, err);
      }
    }
  }

  /**
   * Removes every service from the registries (Go: `UnregisterAll`); the services are still
   * served. `shutdown` does this first. Resolves when every plugin's `unregister` settled.
   */
  async unregisterAll(): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const name of this.#metadata.keys()) {
      for (const p of this.plugins.unregister) all.push(Promise.resolve().then(() => p.unregister!(name)));
    }
    const results = await Promise.allSettled(all);
    for (const r of results) if (r.status === 'rejected') log('unregister: %O', r.reason);
  }

  /** The metadata each service was registered with (for registries). */
  get serviceMetadata(): ReadonlyMap<string, string> {
    return this.#metadata;
  }

  /** Adds a raw handler, consulted before services and functions (Go: `AddHandler`). */
  addHandler(servicePath: string, serviceMethod: string, handler: RawHandler): void {
    this.registry.addHandler(servicePath, serviceMethod, handler);
  }

  /** Go `EnableStreamService`: a token RPC plus a side listener whose connections go to `handler` (see src/stream/service.ts). */
  enableStreamService(handler: StreamHandler, options?: StreamServiceOptions): Promise<SideService> {
    return enableStreamService(this, handler, options);
  }

  /** Go `EnableFileTransfer`: `TransferFile`/`DownloadFile` token RPCs plus a side listener (see src/stream/service.ts). */
  enableFileTransfer(options?: FileTransferOptions): Promise<SideService> {
    return enableFileTransfer(this, options);
  }

  /** The bound address as `network@host:port` (`tcp@127.0.0.1:8972`), once `serve` resolved. */
  get address(): string | undefined {
    return this.#address;
  }

  /** The open connections (Go: `ActiveClientConn`). */
  get connections(): ReadonlySet<ServerConnection> {
    return this.#conns;
  }

  /**
   * Listens on `network` (`tcp`, `tcp4`, `tcp6`, `unix`, `http`) and `address` (`host:port`,
   * port 0 for any; a path for unix) and resolves with the bound address (`tcp@127.0.0.1:40123`).
   * Unlike Go's `Serve`, it does not block: the server runs until `close` or `shutdown`.
   */
  async serve(network: ServeNetwork, address: string): Promise<string> {
    if (this.#closed || this.#shuttingDown) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'server is closed');
    if (this.#listener !== undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `server already serves ${this.#address}`);
    const demux = this.#demuxFor(network);
    const listener = await listen(network, address, {
      tls: this.#options.tls,
      rpcPath: this.#options.rpcPath ?? '/_rpcx_',
      onSocket: demux === undefined ? (socket, remote) => this.#accept(socket, remote, network) : (socket, remote) => demux.route(socket as import('node:net').Socket, remote),
      onError: (err) => {
        if (log.enabled) log('listener error: %s', err.message);
        if (this.listenerCount('error') > 0) this.emit('error', err);
      },
    });
    this.#listener = listener;
    this.#demux = demux;
    this.#address = listener.address;
    if (log.enabled) log('listening %s', listener.address);
    this.emit('listening', listener.address);
    try {
      await Promise.all(this.plugins.serverListening.map((p) => p.serverListening!(listener.address)));
    } catch (err) {
      await this.close();
      throw RpcxError.from(err, ErrorCode.CONNECTION);
    }
    return listener.address;
  }

  /** Go `startGateway`: on tcp networks each connection is routed to rpcx, JSON-RPC or the gateway (src/gateway). */
  #demuxFor(network: ServeNetwork): PortDemux | undefined {
    const o = this.#options;
    if (network !== 'tcp' && network !== 'tcp4' && network !== 'tcp6') return undefined;
    if (o.disableHTTPGateway === true && o.disableJSONRPC === true) return undefined;
    const host = { server: this, registry: this.registry, codecs: this.codecs, plugins: this.plugins, authFunc: o.authFunc, handleServiceError: o.handleServiceError, serverErrorFunc: o.serverErrorFunc };
    const options = { disableHTTPGateway: o.disableHTTPGateway === true, disableJSONRPC: o.disableJSONRPC === true, cors: o.cors, sniffTimeoutMs: o.sniffTimeoutMs ?? 10_000, maxBodyLength: o.maxMessageLength || DEFAULT_MAX_MESSAGE_LENGTH, localAddress: () => this.#address ?? `${network}@?`, onePort: o.onePort === true, rpcPath: o.rpcPath ?? '/_rpcx_' };
    return new PortDemux(host, options, (socket, remote) => this.#accept(socket, remote, network));
  }

  #accept(socket: Parameters<Parameters<typeof listen>[2]['onSocket']>[0], remote: string, network: ServeNetwork): void {
    if (this.#closed || this.#shuttingDown) {
      socket.destroy();
      return;
    }
    if (network !== 'unix') {
      socket.setNoDelay?.(true);
      const ka = this.#options.keepAliveMs ?? 180_000;
      if (ka > 0) socket.setKeepAlive?.(true, ka);
    }
    this.#attach(socket, remote, this.#address ?? `${network}@?`);
  }

  /**
   * Serves rpcx over a connection made elsewhere (any Node `Duplex`: a socket this process
   * dialled, a TLS socket, one end of `duplexPair()`), exactly as an accepted one: the plugins'
   * `postConnAccept` may refuse it, handlers see it as `ctx.connection`, it is in `connections`
   * and closes with the server. Returns the connection, or `undefined` if a plugin refused it or
   * the server is closed (the duplex is then destroyed). The reverse-RPC provider
   * (`dialAndServe`) serves its outgoing connection this way. Go rpcx has no counterpart (its
   * `ServeListener` takes a listener, not one connection).
   */
  serveConnection(duplex: Duplex, options: { remoteAddress?: string } = {}): ServerConnection | undefined {
    if (this.#closed || this.#shuttingDown) {
      duplex.destroy();
      return undefined;
    }
    const s = duplex as Duplex & { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number };
    const remote = options.remoteAddress ?? (s.remoteAddress === undefined ? 'duplex' : s.remoteAddress.includes(':') ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`);
    const local = s.localAddress === undefined ? 'duplex@' : `tcp@${s.localAddress}:${s.localPort}`;
    return this.#attach(duplex, remote, this.#address ?? local);
  }

  #attach(socket: Duplex, remote: string, localAddress: string): ServerConnection | undefined {
    const o = this.#options;
    const frames = new FrameConnection(socket, remote, {
      compressors: this.#compressors,
      maxMessageLength: o.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
      maxDecompressedLength: o.maxDecompressedLength ?? DEFAULT_MAX_DECOMPRESSED_LENGTH,
      ...(o.maxMetadataEntries === undefined ? {} : { maxMetadataEntries: o.maxMetadataEntries }),
    });
    const conn = new ServerConnection(frames, localAddress, this.#limits);
    this.#wire(conn);
    for (const p of this.plugins.postConnAccept) {
      let ok: boolean | void;
      try {
        ok = p.postConnAccept!(conn);
      } catch {
        ok = false;
      }
      if (ok === false) {
        frames.onClose = (err) => conn.onClosed(err);
        frames.destroy();
        return undefined;
      }
    }
    this.#conns.add(conn);
    const dispatcher = this.#dispatcher;
    frames.onMessage = (msg) => dispatcher.onMessage(conn, msg);
    frames.onClose = (err) => {
      this.#conns.delete(conn);
      conn.onClosed(err);
      if (log.enabled) log('%s closed%s', remote, err === undefined ? '' : `: ${err.message}`);
      for (const p of this.plugins.postConnClose) {
        try {
          p.postConnClose!(conn, err);
        } catch {
          // Go ignores the result past the first false.
        }
      }
      this.emit('disconnect', conn, err);
    };
    if (log.enabled) log('%s connected', remote);
    this.emit('connect', conn);
    return conn;
  }

  #wire(conn: ServerConnection): void {
    const o = this.#options;
    conn.wire({
      tags: this.#tags,
      codecs: this.codecs,
      ...(o.maxPeerCallsPerConnection === undefined ? {} : { maxPeerCalls: o.maxPeerCallsPerConnection }),
      ...(o.peerCallTimeoutMs === undefined ? {} : { peerCallTimeoutMs: o.peerCallTimeoutMs }),
    });
  }

  /**
   * The open connections tagged `tag` (`conn.tag(userId)` after a login): a live, read-only view
   * that loses a connection when it closes. Go has no counterpart (Go programs keep their own
   * `map[userID]net.Conn`).
   */
  connectionsTagged(tag: string): ReadonlySet<ServerConnection> {
    return this.#tags.get(tag);
  }

  /**
   * Pushes one message (as {@link sendMessage}, Go's `SendMessage`) to every open connection
   * tagged `tag`; resolves with how many writes succeeded and failed. A tag with no connection
   * gives `{ sent: 0, failed: 0 }`.
   */
  async sendMessageToTag(tag: string, servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<BroadcastResult> {
    const conns = [...this.#tags.get(tag)];
    if (conns.length === 0) return { sent: 0, failed: 0 };
    const results = await Promise.allSettled(conns.map((c) => this.sendMessage(c, servicePath, serviceMethod, metadata, data)));
    let sent = 0;
    for (const r of results) if (r.status === 'fulfilled') sent++;
    return { sent, failed: results.length - sent };
  }

  /**
   * Pushes a message to one client (Go: `Server.SendMessage`): a oneway request, SerializeNone,
   * the next server-wide seq (from 1), the given path, method, metadata and raw payload. Resolves
   * when the frame is handed to the OS; rejects with `RpcxError` `CONNECTION` if the connection
   * is gone (or `LIMIT` if its output queue is full). To respect backpressure in a loop, await
   * `conn.drained()` when `conn.congested`.
   */
  sendMessage(conn: ServerConnection, servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<void> {
    const seq = ++this.#seq;
    let msg: Message;
    try {
      msg = pushMessage(seq, servicePath, serviceMethod, toMetadataMap(metadata), data ?? EMPTY);
    } catch (err) {
      return Promise.reject(RpcxError.from(err, ErrorCode.INVALID_ARGUMENT));
    }
    for (const p of this.plugins.preWriteRequest) {
      try {
        p.preWriteRequest!(conn, msg);
      } catch {
        // Go ignores DoPreWriteRequest's error.
      }
    }
    if (!conn.isOpen) {
      const err = new RpcxError(ErrorCode.CONNECTION, `connection ${conn.remoteAddress} is closed`, { cause: conn.closeError });
      this.#postWriteRequest(conn, msg, err);
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      conn.send(msg, (err) => {
        let e = err;
        if (e !== undefined && e.code !== ErrorCode.CONNECTION && e.code !== ErrorCode.LIMIT) {
          e = new RpcxError(ErrorCode.CONNECTION, `connection ${conn.remoteAddress} is closed: ${e.message}`, { cause: e });
        }
        this.#postWriteRequest(conn, msg, e);
        if (e === undefined) resolve();
        else reject(e);
      });
    });
  }

  #postWriteRequest(conn: ServerConnection, msg: Message, err: RpcxError | undefined): void {
    for (const p of this.plugins.postWriteRequest) {
      try {
        p.postWriteRequest!(conn, msg, err);
      } catch {
        // ignored, as in Go
      }
    }
  }

  /** Pushes the same message to every open connection; resolves with how many writes succeeded and failed. */
  async broadcast(servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<BroadcastResult> {
    const results = await Promise.allSettled([...this.#conns].map((c) => this.sendMessage(c, servicePath, serviceMethod, metadata, data)));
    let sent = 0;
    for (const r of results) if (r.status === 'fulfilled') sent++;
    return { sent, failed: results.length - sent };
  }

  /** Closes the listener and every connection at once (Go: `Close`); running handlers see `ctx.signal` abort. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const l = this.#listener;
    void this.#demux?.close(0);
    for (const c of [...this.#conns]) c.destroy();
    if (l !== undefined) await l.close();
    await this.#stopPlugins(10_000);
    this.emit('close');
  }

  /** Runs every plugin's `serverStopping` once (registries remove their entries), for at most `ms`. */
  #stopPlugins(ms: number): Promise<void> {
    this.#stopping ??= (async () => {
      const stops = this.plugins.serverStopping.map((p) =>
        Promise.resolve()
          .then(() => p.serverStopping!())
          .catch((err: unknown) => log('plugin %s: serverStopping: %O', p.name ?? '?', err)),
      );
      if (stops.length > 0) await raceTimeout(Promise.all(stops).then(() => undefined), ms, undefined);
    })();
    return this.#stopping;
  }

  /**
   * Graceful shutdown (Go: `Shutdown`): stops accepting, stops reading requests (Go:
   * `CloseRead`), lets the handlers of requests already read finish and their replies flush,
   * then closes every connection. After `timeoutMs` the rest is closed at once and the promise
   * rejects with `RpcxError` `TIMEOUT`.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdownPromise ??= this.#shutdown(options.timeoutMs ?? 10_000);
    return this.#shutdownPromise;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    if (log.enabled) log('shutdown begin (%d connections)', this.#conns.size);
    // Go's Shutdown unregisters first: clients stop sending before the server stops reading.
    const started = performance.now();
    await this.#stopPlugins(timeoutMs);
    timeoutMs = Math.max(0, timeoutMs - (performance.now() - started));
    // HTTP connections (gateway, JSON-RPC) get the same deadline (Go: `http.Server.Shutdown(ctx)`
    // with the shutdown's ctx): idle ones close now, busy ones after their answer.
    const httpDrained = this.#demux?.close(timeoutMs) ?? Promise.resolve(false);
    const listenerClosed = this.#listener?.close() ?? Promise.resolve();
    for (const c of this.#conns) c.stopReading();
    const deadline = performance.now() + timeoutMs;
    const conns = [...this.#conns];
    // Late if the deadline passes first, or if it cut HTTP connections still answering (the two
    // timers are due at the same time, so either may fire first).
    const idle = Promise.all([
      httpDrained,
      ...conns.map(async (c) => {
        await c.idle();
        c.closeGracefully();
      }),
    ]).then(([httpCut]) => httpCut);
    const late = await raceTimeout(idle, timeoutMs, true);
    // Replies are flushed and FIN sent: give clients a moment to close their side, then cut.
    const linger = Math.max(0, Math.min(1000, deadline - performance.now()));
    if (!late) await raceTimeout(Promise.all(conns.map((c) => c.closed())).then(() => false), linger, true);
    this.#closed = true;
    void this.#demux?.close(0);
    for (const c of [...this.#conns]) c.destroy();
    await listenerClosed;
    this.emit('close');
    if (log.enabled) log('shutdown end%s', late ? ' (timed out)' : '');
    if (late) throw new RpcxError(ErrorCode.TIMEOUT, `shutdown: handlers still running after ${timeoutMs} ms; connections closed`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function raceTimeout<T>(p: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Creates an rpcx server (Go: `server.NewServer`). */
export function createServer(options: ServerOptions = {}): RpcxServer {
  return new RpcxServer(options);
}
