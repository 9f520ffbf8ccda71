import createDebug from 'debug';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { RpcxError, ErrorCode, ServiceError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import { defaultCodecRegistry } from '../codec/defaults.js';
import type { CodecOptions } from '../codec/types.js';
import {
  CompressType,
  MessageStatusType,
  MessageType,
  MetaKey,
  SerializeType,
  clientCompressType,
  createMessage,
  heartbeatRequest,
  isServerMessage,
  readHeartbeatPayload,
  toMetadataMap,
  type CompressorTable,
  type Message,
  type MetadataInit,
} from '../protocol/index.js';
import { defaultCompressors } from '../node/gzip.js';
import { dial, parseAddress, type DialOptions, type ServerAddress } from '../node/dial.js';
import { FrameConnection } from '../node/frame-connection.js';
import { AsyncQueue } from './async-queue.js';
import { DEADLINE_EXCEEDED, ERR_SHUTDOWN, goText } from '../go-text.js';
import { PushStream, type PushPolicy } from './push-stream.js';
import { abortError, callTimeoutMs } from './deadline.js';
import { downloadFileVia, openByteStream, sendFileVia, type DownloadFileOptions, type SendFileOptions, type ByteStreamOptions } from '../stream/client.js';
import { FILE_TRANSFER_SERVICE_NAME, STREAM_SERVICE_NAME } from '../stream/wire.js';
import { openMessageStream, type MessageStream, type OpenStreamOptions } from '../stream/messages.js';
import { PendingTable } from './pending-table.js';
import { ClientPeer } from './peer.js';
import { isPeerCall, isPeerCallReply } from '../server/peer-calls.js';
import type { Handler, RawHandler, RegisterFunctionOptions, RegisterOptions, ServiceRegistry } from '../server/registry.js';
import { callWithPlugins, type ClientPlugin } from './plugins.js';

const log = createDebug('rpcx:client');

export type { PushPolicy } from './push-stream.js';

export interface ReconnectOptions {
  /** First delay in ms (default 100). */
  initialDelayMs?: number;
  /** Largest delay in ms (default 10,000). */
  maxDelayMs?: number;
  /** Growth factor per attempt (default 2). */
  multiplier?: number;
  /** Random spread as a fraction of the delay, 0..1 (default 0.2). */
  jitter?: number;
  /** Give up after this many attempts in a row (default unlimited). */
  maxAttempts?: number;
}

/**
 * Options of a {@link Client} (Go: `client.Option`). Defaults follow `client.DefaultOption` where
 * Go has one: MsgPack, no compression, heartbeats off, 30 s `maxWaitForHeartbeat`.
 */
export interface ClientOptions extends DialOptions {
  /** Serialize type of requests (default MsgPack, Go's `DefaultOption.SerializeType`). */
  serializeType?: number;
  /** Compression for request payloads over 1024 bytes (default None). */
  compressType?: number;
  /** Codecs by serialize type (default: a fresh `defaultCodecRegistry()`). */
  codecs?: CodecRegistry;
  /** Compressors by compress type (default: gzip). */
  compressors?: CompressorTable;
  /** Largest incoming frame body (default 64 MiB); bigger frames close the connection with LIMIT. */
  maxMessageLength?: number;
  /** Largest decompressed payload (default 64 MiB). */
  maxDecompressedLength?: number;
  /** Most metadata entries in an incoming frame (default 65,536). */
  maxMetadataEntries?: number;
  /** Most calls awaiting a reply on this connection (default 100,000); more fail with LIMIT. */
  maxPendingCalls?: number;
  /** Send Go-identical heartbeats (Go: `Option.Heartbeat`). */
  heartbeat?: boolean;
  /** Heartbeat period in ms (Go: `Option.HeartbeatInterval`; default 30,000 when `heartbeat` is on). */
  heartbeatIntervalMs?: number;
  /** A heartbeat unanswered this long closes the connection (Go: `Option.MaxWaitForHeartbeat`, 30 s). */
  maxWaitForHeartbeatMs?: number;
  /** Token sent as `__AUTH` on every call (Go: `XClient.Auth`). */
  auth?: string;
  /**
   * Client plugins (Go: `SetPlugins`): `preCall` / `postCall` around each call (an XClient's
   * clients: each attempt), `clientBeforeEncode` / `clientAfterDecode` on each message.
   */
  plugins?: readonly ClientPlugin[];
  /**
   * After each read while calls are pending, keep the event loop polling this many microseconds
   * instead of sleeping (default 15; 0 turns it off). The next reply is then picked up without a
   * wake-up, which on a VM the server pays for (see src/node/keep-hot.ts): against Go's server
   * at 64 calls in flight this took its CPU per call from 10.4-10.5 to 9.9 us, as for Go's own
   * client, for about 0.5 us more client CPU per call. Costs at most that long per read.
   */
  spinUs?: number;
  /**
   * Recognises a server's auth-rejection text (Go: whatever the server's `AuthFunc` returned, e.g.
   * `invalid token`). rpcx marks an auth failure on the wire only by that text and the server
   * closing the connection after it; an error reply whose text this returns true for rejects with
   * a `ServiceError` of code `UNAUTHENTICATED` instead of `SERVICE`. Default: none.
   */
  isAuthError?: (text: string) => boolean;
  /** Buffered server pushes before the policy applies (default 1,024; Go: the capacity of the push channel). */
  pushBufferSize?: number;
  /**
   * What happens to a push when the buffer is full (Go: `Option.BidirectionalBlock`, false by
   * default). `drop` (default, as Go) drops and counts it in `droppedMessages`. `block` stops
   * reading the socket until the consumer makes room: nothing is lost, but replies wait behind
   * the unread pushes, so a stalled consumer stalls every call on the connection. Pushes that
   * arrive while no consumer is attached are discarded under either policy, as in Go.
   */
  pushPolicy?: PushPolicy;
  /** Reconnect in the background after a broken connection. Off by default: like Go, the next call reconnects. */
  reconnect?: boolean | ReconnectOptions;
  /** Close an idle connection after this many ms without traffic (Go: `Option.IdleTimeout`; default 0 = never). */
  idleTimeoutMs?: number;
  /** Default deadline of calls this client's handlers make back to the server (`ctx.connection.call`), ms. Default 30,000. */
  peerCallTimeoutMs?: number;
  /**
   * @internal The services this client serves to its server (`register` & co.), when shared: an
   * XClient gives all its clients one registry, so `xclient.register` serves on every connection.
   */
  services?: ServiceRegistry;
}

/**
 * Per-call options (STYLE.md 5): every call takes `signal`, `timeoutMs` and `deadline`. A Go
 * ctx deadline is `timeoutMs` (relative) or `deadline` (absolute); a Go cancel is `signal`.
 */
export interface CallOptions {
  /** Request metadata (Go: `share.ReqMetaDataKey` in the ctx). */
  metadata?: MetadataInit;
  /**
   * Aborts the call; a late reply is dropped. It rejects with TIMEOUT when the signal's reason is
   * a `TimeoutError` (as from `AbortSignal.timeout(ms)`; Go: `context.DeadlineExceeded`), with
   * the reason when it is an `RpcxError`, else with CANCELLED (Go: `context.Canceled`). A signal
   * does not say when it will fire, so it sends no `__ServerTimeout`: to let the server know the
   * deadline (as a Go ctx deadline does), use `timeoutMs` or `deadline`.
   */
  signal?: AbortSignal;
  /**
   * Deadline in ms from now: the call rejects with TIMEOUT (also while a connection is still
   * being made), and the timeout travels as `__ServerTimeout` (ms), overriding one given in
   * `metadata` as Go's `setServerTimeout` does.
   */
  timeoutMs?: number;
  /**
   * Absolute deadline, a `Date` or epoch ms (as grpc-js's `deadline`; Go: `context.WithDeadline`).
   * Acts as `timeoutMs` of the time left, `__ServerTimeout` included; with both, the earlier wins.
   */
  deadline?: Date | number;
  /** Serialize type of this request (default: the client's). */
  serializeType?: number;
  /** Compress type of this request (default: the client's; applied above 1024 bytes). */
  compressType?: number;
  /** Codec options for encoding the args (e.g. `{ type }` for protobuf/thrift). */
  argsCodec?: CodecOptions;
  /** Codec options for decoding the reply. */
  replyCodec?: CodecOptions;
}

/** A reply with the response metadata (Go: `share.ResMetaDataKey`). */
export interface CallResult<T> {
  reply: T;
  metadata: Map<string, string>;
}

/** The reply of {@link Client.sendRaw} (Go: `Client.SendRaw`'s metadata and payload). */
export interface RawResult {
  metadata: Map<string, string>;
  payload: Uint8Array;
  message: Message;
}

/** Connection state changes, a `type`-discriminated union (STYLE.md 4). */
export type ClientStatus =
  | { type: 'connecting'; address: string }
  | { type: 'connected'; address: string }
  | { type: 'disconnected'; address: string; error?: RpcxError }
  | { type: 'reconnecting'; address: string; attempt: number; delayMs: number }
  | { type: 'closed'; address: string };

interface Pending {
  resolve: (v: never) => void;
  reject: (e: RpcxError) => void;
  /** 0 decoded reply, 1 with metadata, 2 raw, 3 heartbeat */
  kind: 0 | 1 | 2 | 3;
  replyCodec: CodecOptions | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` at which the call times out (with `timeoutMs` only). */
  deadline: number;
  /** The timeout in ms, for the error text. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  key: number | bigint;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY_BYTES = new Uint8Array(0);
/** The metadata of requests that carry none; never mutated. */
const NO_METADATA: Map<string, string> = new Map();

function keyOf(seq: bigint): number | bigint {
  return seq <= MAX_SAFE ? Number(seq) : seq;
}

/**
 * One connection to one rpcx server, multiplexed by seq (Go: `client.Client`). Calls resolve to
 * the decoded reply; server pushes arrive on {@link Client.messages} / {@link Client.onMessage}.
 * The connection is made on the first call (or `connect()`), and after it breaks the next call
 * makes a new one, as Go's XClient does; `reconnect` adds background reconnects with backoff.
 *
 * Pushes go to a consumer attached through {@link Client.messages} or {@link Client.onMessage};
 * without one they are discarded and counted, as Go discards them with no channel registered
 * (see `pushPolicy` for a consumer that lags).
 *
 * Pushes across reconnects: the push stream belongs to the Client, not the socket. When a
 * connection dies an attached consumer gets one synthetic message as Go injects it (Request,
 * status Error, metadata `__rpcx_error__` = the error and `server` = the address) and the stream
 * stays open for the next connection; `close()` ends it.
 */
export class Client {
  /** The server key, `network@address`. */
  readonly address: string;
  private readonly target: ServerAddress;
  private readonly options: ClientOptions;
  private readonly codecs: CodecRegistry;
  private readonly compressors: CompressorTable;
  private readonly serializeType: number;
  private readonly compressType: number;
  private readonly maxPending: number;

  private conn: FrameConnection | undefined;
  private connecting: Promise<FrameConnection> | undefined;
  private pending = new PendingTable<Pending>();
  private seq = 0;
  private closedByUser = false;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAttempt = 0;
  private readonly pushes: PushStream<Message>;
  private pushPaused = false;
  private readonly statusQueues = new Set<AsyncQueue<ClientStatus>>();
  private readonly statusCallbacks = new Set<(s: ClientStatus) => void>();
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private peer: ClientPeer | undefined;
  /** Set for a client over a given connection (`fromDuplex`): it never dials. */
  private given: Duplex | undefined;
  /** The plugins with `preCall` or `postCall`; undefined when none (no per-call cost). */
  private readonly callPlugins: readonly ClientPlugin[] | undefined;
  private readonly beforeEncode: readonly ClientPlugin[] | undefined;
  private readonly afterDecode: readonly ClientPlugin[] | undefined;

  constructor(address: string, options: ClientOptions = {}) {
    this.address = address.includes('@') ? address : `tcp@${address}`;
    this.target = parseAddress(address);
    this.options = options;
    this.codecs = options.codecs ?? defaultCodecRegistry();
    this.compressors = options.compressors ?? defaultCompressors;
    this.serializeType = options.serializeType ?? SerializeType.MsgPack;
    this.compressType = options.compressType ?? CompressType.None;
    this.maxPending = options.maxPendingCalls ?? 100_000;
    this.pushes = new PushStream<Message>(options.pushBufferSize ?? 1024, options.pushPolicy ?? 'drop');
    this.pushes.onResume = () => this.resumePushes();
    const plugins = options.plugins ?? [];
    const some = (f: (p: ClientPlugin) => boolean): readonly ClientPlugin[] | undefined => (plugins.some(f) ? plugins.filter(f) : undefined);
    this.callPlugins = some((p) => p.preCall !== undefined || p.postCall !== undefined);
    this.beforeEncode = some((p) => p.clientBeforeEncode !== undefined);
    this.afterDecode = some((p) => p.clientAfterDecode !== undefined);
  }

  /** Go `XClient.Stream` on `_streamservice`: a raw byte stream to the server as a half-open Duplex (src/stream/client.ts). */
  stream(metadata?: MetadataInit, options?: ByteStreamOptions): Promise<Duplex> {
    return openByteStream((m, a, o) => this.call(STREAM_SERVICE_NAME, m, a, o), this.serializeType, metadata, options);
  }

  /** Go `XClient.SendFile` on `_filetransfer`: uploads a file (a path, or a Readable with `fileName`/`fileSize`); resolves with the bytes sent. */
  sendFile(source: string | Readable, options?: SendFileOptions): Promise<number> {
    return sendFileVia((m, a, o) => this.call(FILE_TRANSFER_SERVICE_NAME, m, a, o), this.serializeType, source, options);
  }

  /** Go `XClient.DownloadFile` on `_filetransfer`: downloads `name` into a path or Writable; resolves with the bytes received. */
  downloadFile(name: string, destination: string | Writable, options?: DownloadFileOptions): Promise<number> {
    return downloadFileVia((m, a, o) => this.call(FILE_TRANSFER_SERVICE_NAME, m, a, o), this.serializeType, name, destination, options);
  }

  /** A message stream to the stream handler `servicePath.method` (gRPC Send/Recv/CloseSend; see docs/streams.md). */
  openStream<Req = unknown, Res = unknown>(servicePath: string, method: string, options?: OpenStreamOptions): Promise<MessageStream<Req, Res>> {
    return openMessageStream((m, a, o) => this.call(STREAM_SERVICE_NAME, m, a, o), this.serializeType, this.codecs, servicePath, method, options);
  }

  /** Creates a client and connects it. */
  static async connect(address: string, options: ClientOptions = {}): Promise<Client> {
    const c = new Client(address, options);
    try {
      await c.connect();
    } catch (err) {
      // The caller never gets this client: stop it, or a `reconnect` option would keep dialing.
      await c.close({ graceful: false });
      throw err;
    }
    return c;
  }

  /**
   * A client over a connection made elsewhere (any Node `Duplex`: a socket accepted by a
   * listener, as the reverse-RPC caller gets it; a TLS socket; one end of `duplexPair()`). It
   * speaks rpcx on it at once and never dials: when that connection closes, calls fail with
   * CONNECTION and `reconnect` does not apply. `address` labels it in errors (default
   * `tcp@<peer host:port>`). Go rpcx has no counterpart (its client always dials).
   */
  static fromDuplex(duplex: Duplex, options: ClientOptions & { address?: string } = {}): Client {
    const s = duplex as Duplex & { remoteAddress?: string; remotePort?: number };
    const label = options.address ?? (s.remoteAddress === undefined ? 'tcp@duplex' : `tcp@${s.remoteAddress.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress}:${s.remotePort}`);
    const { address: _ignored, reconnect: _noReconnect, ...rest } = options;
    const c = new Client(label, rest);
    c.given = duplex;
    c.attach(duplex as Socket);
    return c;
  }

  /** True while a connection is open. */
  get isConnected(): boolean {
    return this.conn !== undefined && this.conn.isOpen;
  }

  /** Calls awaiting a reply. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /**
   * Server pushes not delivered: those discarded because no consumer was attached (see
   * {@link discardedMessages}) plus those dropped because the buffer was full under `drop`.
   */
  get droppedMessages(): number {
    return this.pushes.discardedCount + this.pushes.overflowCount;
  }

  /**
   * Server pushes discarded because no consumer was attached (no iterator obtained from
   * {@link messages}, no {@link onMessage}), as Go's client discards them when no channel is
   * registered. Included in {@link droppedMessages}.
   */
  get discardedMessages(): number {
    return this.pushes.discardedCount;
  }

  /** The local socket, while connected (for tests and diagnostics). */
  get socket(): Socket | undefined {
    return this.conn?.socket as Socket | undefined;
  }

  /**
   * Registers the methods of `instance` as a service the server may call over this client's
   * connection (`ctx.connection.call(path, method, args)` on the server): the server's
   * `register`, same rules, same dispatch. Returns the service name. Go rpcx has no
   * counterpart: a Go client never answers the server (docs/bidirectional.md).
   */
  register(instance: object, options?: RegisterOptions): string {
    return this.peerSide().registry.register(instance, options);
  }

  /** Registers `fn` as `servicePath.name` for the server to call (the server's `registerFunction`). */
  registerFunction(servicePath: string, fn: Handler, name?: string, options?: RegisterFunctionOptions): string {
    return this.peerSide().registry.registerFunction(servicePath, fn, name, options);
  }

  /** Adds a raw handler for the server to call (the server's `addHandler`). */
  addHandler(servicePath: string, serviceMethod: string, handler: RawHandler): void {
    this.peerSide().registry.addHandler(servicePath, serviceMethod, handler);
  }

  private peerSide(): ClientPeer {
    return (this.peer ??= new ClientPeer({
      address: this.address,
      codecs: this.codecs,
      peerCallTimeoutMs: this.options.peerCallTimeoutMs,
      nextSeq: () => BigInt(this.seq++),
      registry: this.options.services,
    }));
  }

  /** Opens the connection if there is none. */
  async connect(signal?: AbortSignal): Promise<void> {
    await this.ensureConnection(signal);
  }

  /**
   * Calls `servicePath.serviceMethod` with `args` and resolves to the decoded reply
   * (Go: `Client.Call`). Rejects with `ServiceError` for an error reply, or `RpcxError`
   * (`TIMEOUT`, `CANCELLED`, `CONNECTION`, `LIMIT`, `CODEC`, `PROTOCOL`).
   */
  call<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions = {}): Promise<T> {
    if (this.callPlugins !== undefined) return this.withPlugins(servicePath, serviceMethod, args, options, 0) as Promise<T>;
    return this.invoke(servicePath, serviceMethod, args, options, 0) as Promise<T>;
  }

  /**
   * Like {@link call}, also giving the response metadata (Go: the ctx `share.ResMetaDataKey` map).
   * As Go's `Client.Call` does, non-empty response metadata also gets `__ServerAddress`
   * (`MetaKey.ServerAddress`), the answering server's address as Go's `Conn.RemoteAddr()` prints
   * it (`127.0.0.1:8972`, `[::1]:8972`, a unix socket's path); an error reply's `ServiceError`
   * metadata gets it too.
   */
  callWithMetadata<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    if (this.callPlugins !== undefined) return this.withPlugins(servicePath, serviceMethod, args, options, 1) as Promise<CallResult<T>>;
    return this.invoke(servicePath, serviceMethod, args, options, 1) as Promise<CallResult<T>>;
  }

  /**
   * Sends a oneway request (Go: a call with a nil reply, `XClient.Oneshot`): the server runs the
   * handler and writes nothing. Resolves once the frame is handed to the OS.
   */
  async oneway(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions = {}): Promise<void> {
    if (this.callPlugins !== undefined) {
      await this.withPlugins(servicePath, serviceMethod, args, options, 2);
      return;
    }
    return this.sendOneway(servicePath, serviceMethod, args, options);
  }

  private async sendOneway(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions): Promise<void> {
    options = withTimeout(options);
    const st = options.serializeType ?? this.serializeType;
    const payload = this.codecs.get(st).encode(args, options.argsCodec);
    const msg = this.buildRequest(servicePath, serviceMethod, payload, st, options);
    msg.oneway = true;
    msg.seq = BigInt(this.seq++);
    if (this.beforeEncode !== undefined) this.runBeforeEncode(msg);
    const conn = await this.ensureConnection(options.signal);
    await new Promise<void>((resolve, reject) => conn.send(msg, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Sends a message as given, seq included (Go: `Client.SendRaw`: no automatic seq). A seq that
   * a call still awaiting its reply uses is refused with INVALID_ARGUMENT (in Go the two calls
   * collide and one never completes). Resolves to the response's metadata and raw payload; a
   * oneway message resolves once written, with an empty result.
   */
  sendRaw(msg: Message, options: Pick<CallOptions, 'signal' | 'timeoutMs' | 'deadline'> = {}): Promise<RawResult> {
    if (this.callPlugins === undefined) return this.sendRawNow(msg, options);
    // Go (XClient.SendRaw -> wrapSendRaw, Client.SendRaw): the plugins run with the payload as
    // the args and no reply; the metadata they set goes with the message, whose own metadata wins.
    try {
      options = withTimeout(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return callWithPlugins<RawResult>(
      this.callPlugins,
      {
        servicePath: msg.servicePath,
        serviceMethod: msg.serviceMethod,
        args: msg.payload,
        metadata: undefined,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        address: this.address,
        run: (metadata, timeoutMs) => {
          for (const [k, v] of msg.metadata) metadata.set(k, v);
          return this.sendRawNow({ ...msg, metadata }, timeoutMs === undefined ? options : { ...options, timeoutMs });
        },
        replyOf: () => undefined,
      },
      (e) => log('%s: postCall plugin failed (ignored, as Go): %O', this.address, e),
    );
  }

  private async sendRawNow(msg: Message, options: Pick<CallOptions, 'signal' | 'timeoutMs' | 'deadline'>): Promise<RawResult> {
    options = withTimeout(options);
    const conn = await this.ensureConnection(options.signal);
    if (msg.oneway) {
      await new Promise<void>((resolve, reject) => conn.send(msg, (err) => (err ? reject(err) : resolve())));
      return { metadata: new Map(), payload: EMPTY_BYTES, message: msg };
    }
    if (this.pending.has(keyOf(msg.seq))) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `seq ${msg.seq} is in use by a call awaiting its reply on ${this.address}`);
    }
    return new Promise<RawResult>((resolve, reject) => {
      this.registerPending(msg.seq, resolve as (v: never) => void, reject, 2, undefined, options);
      this.sendOrFail(conn, msg);
    });
  }

  /**
   * Server pushes as an async iterable (Go: the channel of `NewBidirectionalXClient` /
   * `RegisterServerMessageChan`). One consumer; not together with {@link onMessage}.
   *
   * Obtaining the iterator (a `for await` does) attaches the consumer, as registering the channel
   * does in Go: until then, and after the iteration ends, pushes are discarded and counted in
   * {@link discardedMessages}. Attach before the call that makes the server push. A consumer that
   * stops reading gets the `pushPolicy` once `pushBufferSize` pushes wait.
   */
  messages(): AsyncIterable<Message> {
    return this.pushes.iterable;
  }

  /**
   * Server pushes to a callback instead of an iterable; attaches the consumer (see
   * {@link messages}). The callback runs on the socket's read path: an exception it throws is
   * caught and logged (`rpcx:client`), and the connection goes on.
   */
  onMessage(cb: (msg: Message) => void): void {
    this.pushes.setCallback(cb, this.address);
  }

  /** Connection status changes as an async iterable; ends at `close()`. */
  status(): AsyncIterable<ClientStatus> {
    const q = new AsyncQueue<ClientStatus>(Number.MAX_SAFE_INTEGER);
    this.statusQueues.add(q);
    return q;
  }

  /** Connection status changes to a callback; returns an unsubscribe function. */
  onStatus(cb: (s: ClientStatus) => void): () => void {
    this.statusCallbacks.add(cb);
    return () => this.statusCallbacks.delete(cb);
  }

  /**
   * Closes the client. Graceful by default: new calls fail at once, calls in flight get up to
   * `timeoutMs` (default 5,000) to finish, then the socket closes and what is left rejects with
   * CONNECTION. `{ graceful: false }` rejects everything in flight at once.
   */
  async close(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.closedByUser) return;
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const graceful = options.graceful ?? true;
    if (graceful && this.pending.size > 0 && this.conn?.isOpen) {
      const deadline = Date.now() + (options.timeoutMs ?? 5_000);
      while (this.pending.size > 0 && this.conn?.isOpen && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const err = new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `client for ${this.address} is closed`));
    this.failAll(err);
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) {
      if (graceful) conn.close();
      else conn.destroy();
    }
    this.emitStatus({ type: 'closed', address: this.address });
    this.pushes.end();
    for (const q of this.statusQueues) q.end();
    this.statusQueues.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  private invoke(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions, kind: 0 | 1): Promise<unknown> {
    if (options.deadline !== undefined) {
      try {
        options = withTimeout(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.closedByUser) return Promise.reject(new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `client for ${this.address} is closed`)));
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new RpcxError(ErrorCode.LIMIT, `more than ${this.maxPending} calls pending on ${this.address}`));
    }
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    const st = options.serializeType ?? this.serializeType;
    let payload: Uint8Array;
    try {
      payload = this.codecs.get(st).encode(args, options.argsCodec);
    } catch (err) {
      return Promise.reject(RpcxError.from(err, ErrorCode.CODEC));
    }
    const msg = this.buildRequest(servicePath, serviceMethod, payload, st, options);
    const conn = this.conn;
    if (conn !== undefined && conn.isOpen) return this.dispatch(conn, msg, kind, options);
    const timeoutMs = options.timeoutMs;
    if (timeoutMs === undefined) return this.ensureConnection(options.signal).then((c) => this.dispatch(c, msg, kind, options));
    // The deadline covers (re)connecting too: a call must not outlive its timeoutMs because the
    // dial is slow (connectTimeoutMs may be much longer).
    const started = Date.now();
    return raceTimeout(this.ensureConnection(options.signal), timeoutMs).then((c) =>
      this.dispatch(c, msg, kind, { ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) }),
    );
  }

  /**
   * A call (kind 0), a call with metadata (1) or a oneway (2) with the `preCall` / `postCall`
   * plugins around it: preCall may add request metadata; postCall sees the reply or the error.
   */
  private withPlugins(servicePath: string, serviceMethod: string, args: unknown, options: CallOptions, kind: 0 | 1 | 2): Promise<unknown> {
    try {
      options = withTimeout(options);
    } catch (err) {
      return Promise.reject(err);
    }
    return callWithPlugins<unknown>(
      this.callPlugins!,
      {
        servicePath,
        serviceMethod,
        args,
        metadata: options.metadata,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        address: this.address,
        run: (metadata, timeoutMs) => {
          const o: CallOptions = { ...options, metadata };
          if (timeoutMs !== undefined) o.timeoutMs = timeoutMs;
          return kind === 2 ? this.sendOneway(servicePath, serviceMethod, args, o) : this.invoke(servicePath, serviceMethod, args, o, kind);
        },
        replyOf: (r) => (kind === 1 ? (r as CallResult<unknown>).reply : r),
      },
      (e) => log('%s: postCall plugin failed (ignored, as Go): %O', this.address, e),
    );
  }

  private runBeforeEncode(msg: Message): void {
    // The shared empty map of calls without metadata is read-only: a plugin gets a map of its own.
    if (msg.metadata === NO_METADATA) msg.metadata = new Map();
    for (const p of this.beforeEncode!) {
      try {
        p.clientBeforeEncode!(msg);
      } catch (e) {
        log('%s: clientBeforeEncode plugin failed (ignored, as Go): %O', this.address, e);
      }
    }
  }

  private buildRequest(servicePath: string, serviceMethod: string, payload: Uint8Array, st: number, options: CallOptions): Message {
    let metadata = NO_METADATA; // read only by the encoder: no Map per call when there is nothing to send
    if (options.metadata !== undefined || this.options.auth !== undefined || options.timeoutMs !== undefined) {
      metadata = toMetadataMap(options.metadata);
      if (this.options.auth !== undefined) metadata.set(MetaKey.Auth, this.options.auth);
      if (options.timeoutMs !== undefined) metadata.set(MetaKey.ServerTimeout, String(Math.max(0, Math.floor(options.timeoutMs))));
    }
    return {
      version: 0,
      messageType: MessageType.Request,
      heartbeat: false,
      oneway: false,
      compressType: clientCompressType(options.compressType ?? this.compressType, payload.length),
      messageStatusType: MessageStatusType.Normal,
      serializeType: st,
      seq: 0n,
      servicePath,
      serviceMethod,
      metadata,
      payload,
    };
  }

  private dispatch(conn: FrameConnection, msg: Message, kind: 0 | 1, options: CallOptions): Promise<unknown> {
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    const seq = BigInt(this.nextSeq());
    msg.seq = seq;
    if (this.beforeEncode !== undefined) this.runBeforeEncode(msg);
    return new Promise((resolve, reject) => {
      this.registerPending(seq, resolve as (v: never) => void, reject, kind, options.replyCodec, options);
      this.sendOrFail(conn, msg);
    });
  }

  /**
   * Queues a request whose pending entry is registered. No per-call write callback: a write that
   * fails closes the connection, and closing fails every pending call; a frame that cannot even be
   * queued (or encoded) fails its own call here.
   */
  private sendOrFail(conn: FrameConnection, msg: Message): void {
    let err: RpcxError | undefined;
    try {
      err = conn.send(msg);
    } catch (e) {
      err = RpcxError.from(e, ErrorCode.CODEC);
    }
    if (err !== undefined) this.take(keyOf(msg.seq))?.reject(err);
  }

  private registerPending(
    seq: bigint,
    resolve: (v: never) => void,
    reject: (e: RpcxError) => void,
    kind: Pending['kind'],
    replyCodec: CodecOptions | undefined,
    options: Pick<CallOptions, 'signal' | 'timeoutMs'>,
  ): void {
    const key = keyOf(seq);
    const p: Pending = { resolve, reject, kind, replyCodec, timer: undefined, deadline: Infinity, timeoutMs: 0, signal: undefined, onAbort: undefined, key };
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      p.deadline = performance.now() + ms;
      p.timeoutMs = ms;
      p.timer = setTimeout(() => {
        if (this.take(key) === p) p.reject(timedOut(ms));
      }, ms);
    }
    const signal = options.signal;
    if (signal !== undefined) {
      p.signal = signal;
      p.onAbort = () => {
        if (this.take(key) === p) p.reject(abortError(signal));
      };
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
    this.pending.set(p);
  }

  /** The next seq for a call that awaits a reply, skipping one a `sendRaw` call still holds. */
  private nextSeq(): number {
    let n = this.seq++;
    while (this.pending.has(n)) n = this.seq++;
    return n;
  }

  /** Removes a pending call and clears its timer and abort listener. */
  private take(key: number | bigint): Pending | undefined {
    const p = this.pending.take(key);
    if (p === undefined) return undefined;
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort);
    return p;
  }

  private ensureConnection(signal?: AbortSignal): Promise<FrameConnection> {
    if (this.closedByUser) return Promise.reject(new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `client for ${this.address} is closed`)));
    if (this.conn !== undefined && this.conn.isOpen) return Promise.resolve(this.conn);
    if (this.given !== undefined) {
      return Promise.reject(new RpcxError(ErrorCode.CONNECTION, `connection to ${this.address} is closed (a client over a given connection does not reconnect)`));
    }
    if (this.connecting === undefined) {
      this.emitStatus({ type: 'connecting', address: this.address });
      const dialOptions: DialOptions = { ...this.options };
      delete (dialOptions as { signal?: AbortSignal }).signal;
      this.connecting = dial(this.target, dialOptions).then(
        (socket) => {
          this.connecting = undefined;
          if (this.closedByUser) {
            socket.destroy();
            throw new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `client for ${this.address} is closed`));
          }
          return this.attach(socket);
        },
        (err: unknown) => {
          this.connecting = undefined;
          const e = RpcxError.from(err, ErrorCode.CONNECTION);
          this.emitStatus({ type: 'disconnected', address: this.address, error: e });
          this.scheduleReconnect();
          throw e;
        },
      );
    }
    if (signal === undefined) return this.connecting;
    return raceAbort(this.connecting, signal);
  }

  private attach(socket: Socket): FrameConnection {
    const conn = new FrameConnection(socket, this.target.address, {
      compressors: this.compressors,
      ...(this.options.maxMessageLength !== undefined ? { maxMessageLength: this.options.maxMessageLength } : {}),
      ...(this.options.maxDecompressedLength !== undefined ? { maxDecompressedLength: this.options.maxDecompressedLength } : {}),
      ...(this.options.maxMetadataEntries !== undefined ? { maxMetadataEntries: this.options.maxMetadataEntries } : {}),
      spinUs: this.options.spinUs ?? 15,
      awaiting: () => this.pending.size,
    });
    this.conn = conn;
    this.reconnectAttempt = 0;
    this.pushPaused = false;
    // Go's `client.Conn.RemoteAddr().String()`, for `__ServerAddress` and the disconnect message.
    const serverAddress = goRemoteAddress(socket, this.target);
    conn.onMessage = (msg) => this.onFrame(conn, msg, serverAddress);
    conn.onClose = (err) => this.onConnectionClosed(conn, err, serverAddress);
    if (this.options.heartbeat) this.startHeartbeat(conn);
    // A client that serves the server (`register`) may connect only to be called. A server that
    // routes each connection by its first bytes (Go's cmux, and ours on `tcp`: rpcx, gateway or
    // JSON-RPC) would wait for bytes that never come; a heartbeat first tells it "rpcx".
    if (this.peer !== undefined) this.heartbeat(conn, this.options.maxWaitForHeartbeatMs || 30_000);
    if ((this.options.idleTimeoutMs ?? 0) > 0) this.touchIdle();
    this.emitStatus({ type: 'connected', address: this.address });
    if (log.enabled) log('connected to %s', this.address);
    return conn;
  }

  private onFrame(conn: FrameConnection, msg: Message, serverAddress: string): void {
    if (this.idleTimer !== undefined) this.touchIdle();
    if (this.afterDecode !== undefined) {
      for (const p of this.afterDecode) {
        try {
          p.clientAfterDecode!(msg);
        } catch (e) {
          log('%s: clientAfterDecode plugin failed (ignored, as Go): %O', this.address, e);
        }
      }
    }
    if (isServerMessage(msg)) {
      this.deliverPush(msg);
      return;
    }
    if (isPeerCall(msg)) {
      // A call from the server (a Request that is neither a push nor a heartbeat): run it on the
      // services registered with `register`, and answer with a Response (unknown service: Go's
      // "rpcx: can't find service" error reply).
      this.peerSide().onCall(conn, msg);
      return;
    }
    const key = msg.seq <= MAX_SAFE ? Number(msg.seq) : msg.seq;
    const p = this.take(key);
    if (p === undefined) {
      if (isPeerCallReply(msg) && this.peer?.onReply(conn, msg) === true) return;
      if (log.enabled) log('%s: reply for unknown seq %s dropped', this.address, msg.seq);
      return;
    }
    if (p.deadline !== Infinity && performance.now() >= p.deadline) {
      // The reply came after the deadline, but before the (lagging) timer ran: the same late
      // reply would be dropped a moment later, so the outcome must not depend on event-loop lag.
      // (E.g. Go's own "context deadline exceeded" reply, sent when __ServerTimeout expires.)
      p.reject(timedOut(p.timeoutMs));
      return;
    }
    this.settle(p, msg, serverAddress);
  }

  private settle(p: Pending, msg: Message, serverAddress: string): void {
    if (p.kind === 2) {
      p.resolve({ metadata: msg.metadata, payload: msg.payload, message: msg } as never);
      return;
    }
    if (p.kind === 3) {
      p.resolve(msg as never);
      return;
    }
    // client/client.go call(): non-empty response metadata gets __ServerAddress, the answering
    // server's address, in the caller's map (on an error reply too).
    if (p.kind === 1 && msg.metadata.size > 0) msg.metadata.set(MetaKey.ServerAddress, serverAddress);
    // client/client.go input(): status Error with metadata is an error carrying __rpcx_error__
    // (empty text if the key is missing); status Error with EMPTY metadata is a success in Go.
    const isError = msg.messageStatusType === MessageStatusType.Error && msg.metadata.size > 0;
    let reply: unknown;
    if (msg.payload.length > 0) {
      const codec = this.codecs.find(msg.serializeType);
      if (codec === undefined) {
        if (!isError) {
          p.reject(new RpcxError(ErrorCode.CODEC, `can not find codec for ${msg.serializeType}`));
          return;
        }
      } else {
        try {
          reply = codec.decode(msg.payload, p.replyCodec);
        } catch (err) {
          // Go ignores a decode error of an error reply's payload; a success reply's fails the call.
          if (!isError) {
            p.reject(RpcxError.from(err, ErrorCode.CODEC));
            return;
          }
        }
      }
    } else if (msg.serializeType === SerializeType.SerializeNone) {
      reply = EMPTY_BYTES;
    } else if (p.replyCodec?.type !== undefined) {
      // Go leaves the caller's reply struct untouched (its zero value) for an empty payload. With
      // a schema we can build that zero value: an empty protobuf message is all proto3 zeros
      // (`{}`), which is what Go sends for e.g. ArithReply{C: 0}. Codecs that refuse an empty
      // payload leave the reply undefined.
      try {
        reply = this.codecs.find(msg.serializeType)?.decode(msg.payload, p.replyCodec);
      } catch {
        reply = undefined;
      }
    }
    if (isError) {
      const text = msg.metadata.get(MetaKey.ServiceError) ?? '';
      const code = this.options.isAuthError?.(text) === true ? ErrorCode.UNAUTHENTICATED : ErrorCode.SERVICE;
      p.reject(new ServiceError(text, msg.metadata, reply, code));
      return;
    }
    p.resolve((p.kind === 0 ? reply : { reply, metadata: msg.metadata }) as never);
  }

  /** client/client.go `input` + `handleServerRequest`; the policy is PushStream's. */
  private deliverPush(msg: Message): void {
    const outcome = this.pushes.offer(msg);
    if (outcome === 'delivered') {
      // `block`: a full buffer stops reading until the consumer makes room (Go: BidirectionalBlock).
      if (this.pushes.mustWait && !this.pushPaused && this.conn !== undefined) {
        this.pushPaused = true;
        this.conn.pauseReading();
      }
    } else if (log.enabled && outcome !== 'closed') {
      log('%s: push %s %s', this.address, msg.seq, outcome === 'discarded' ? 'discarded, no consumer' : 'dropped, buffer full');
    }
  }

  private resumePushes(): void {
    if (this.pushPaused) {
      this.pushPaused = false;
      this.conn?.resumeReading();
    }
  }

  private onConnectionClosed(conn: FrameConnection, err: RpcxError | undefined, serverAddress: string): void {
    if (this.conn === conn) this.conn = undefined;
    this.peer?.detach(conn, err);
    this.stopHeartbeat();
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const error = err ?? new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `connection to ${this.address} closed`));
    const failure = error.code === ErrorCode.PROTOCOL || error.code === ErrorCode.LIMIT ? error : new RpcxError(ErrorCode.CONNECTION, error.message, { cause: error });
    this.failAll(failure);
    if (log.enabled) log('%s: disconnected: %s', this.address, error.message);
    // Go injects a synthetic message into the push channel when the connection dies, if a
    // channel is registered (client.go input()): here if a consumer is attached.
    if (!this.closedByUser) {
      if (this.pushes.hasConsumer) {
        this.deliverPush(
          createMessage({
            messageType: MessageType.Request,
            messageStatusType: MessageStatusType.Error,
            metadata: { [MetaKey.ServiceError]: error.message, [MetaKey.Server]: serverAddress },
          }),
        );
      }
      this.emitStatus({ type: 'disconnected', address: this.address, error });
      this.scheduleReconnect();
    }
  }

  private failAll(err: RpcxError): void {
    if (this.pending.size === 0) return;
    const all = this.pending.values();
    for (const p of all) {
      this.take(p.key);
      p.reject(err);
    }
  }

  private scheduleReconnect(): void {
    const r = this.options.reconnect;
    if (r === undefined || r === false || this.closedByUser || this.reconnectTimer !== undefined || this.given !== undefined) return;
    const o: ReconnectOptions = r === true ? {} : r;
    if (o.maxAttempts !== undefined && this.reconnectAttempt >= o.maxAttempts) return;
    const attempt = ++this.reconnectAttempt;
    const base = Math.min(o.maxDelayMs ?? 10_000, (o.initialDelayMs ?? 100) * (o.multiplier ?? 2) ** (attempt - 1));
    const jitter = o.jitter ?? 0.2;
    const delayMs = Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * Math.random())));
    this.emitStatus({ type: 'reconnecting', address: this.address, attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closedByUser || this.isConnected) return;
      this.ensureConnection().catch(() => {
        /* the failure already scheduled the next attempt */
      });
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private startHeartbeat(conn: FrameConnection): void {
    this.stopHeartbeat();
    const interval = this.options.heartbeatIntervalMs ?? 30_000;
    const maxWait = this.options.maxWaitForHeartbeatMs || 30_000; // Go: 0 -> 30 s
    if (interval <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      if (!conn.isOpen) return this.stopHeartbeat();
      this.heartbeat(conn, maxWait);
    }, interval);
    this.heartbeatTimer.unref();
  }

  /**
   * Sends one heartbeat and checks its echo; no echo within `maxWait` closes the connection
   * (Go: client/client.go heartbeat()).
   */
  private heartbeat(conn: FrameConnection, maxWait: number): void {
    const seq = BigInt(this.nextSeq());
    const sent = BigInt(Date.now()) * 1_000_000n;
    const msg = heartbeatRequest(seq, sent);
    new Promise<Message>((resolve, reject) => {
      this.registerPending(seq, resolve as (v: never) => void, reject, 3, undefined, { timeoutMs: maxWait });
      this.sendOrFail(conn, msg);
    }).then(
      (reply) => {
        if (readHeartbeatPayload(reply.payload) !== sent && log.enabled) log('%s: heartbeat reply differs from request', this.address);
      },
      (err: RpcxError) => {
        if (err.code === ErrorCode.TIMEOUT) {
          conn.destroy(new RpcxError(ErrorCode.CONNECTION, `heartbeat to ${this.address} not answered within ${maxWait} ms`));
        }
      },
    );
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private touchIdle(): void {
    clearTimeout(this.idleTimer);
    const ms = this.options.idleTimeoutMs ?? 0;
    const conn = this.conn;
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) conn?.destroy(new RpcxError(ErrorCode.CONNECTION, `connection to ${this.address} idle for ${ms} ms`));
      else this.touchIdle();
    }, ms);
    this.idleTimer.unref();
  }

  private emitStatus(s: ClientStatus): void {
    for (const q of this.statusQueues) q.push(s);
    for (const cb of this.statusCallbacks) {
      try {
        cb(s);
      } catch (err) {
        // A status callback runs inside socket events: its exception must not break the client.
        log('%s: onStatus callback threw: %O', this.address, err);
      }
    }
  }
}

/**
 * Go's `net.Conn.RemoteAddr().String()` for a dialed socket: `ip:port` (`[ip]:port` for IPv6) of
 * the peer as connected, not as named (`localhost:8972` gives `127.0.0.1:8972`); the path for
 * a unix socket.
 */
function goRemoteAddress(socket: Socket, target: ServerAddress): string {
  // ws/wss: Go's websocket.Conn reports its URL, ws://host:port/_rpcx_.
  const location = (socket as { rpcxLocation?: string }).rpcxLocation;
  if (location !== undefined) return location;
  const host = socket.remoteAddress;
  const port = socket.remotePort;
  if (target.network === 'unix' || host === undefined || port === undefined) return target.address;
  // Go prints an IPv4-mapped IPv6 address in dotted form.
  const ip = host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `options` with `deadline` folded into `timeoutMs` (the earlier of the two wins). */
function withTimeout<O extends Pick<CallOptions, 'timeoutMs' | 'deadline'>>(options: O): O {
  if (options.deadline === undefined) return options;
  const out = { ...options, timeoutMs: callTimeoutMs(options) };
  delete out.deadline;
  return out;
}

function timedOut(ms: number): RpcxError {
  return new RpcxError(ErrorCode.TIMEOUT, goText(DEADLINE_EXCEEDED, `call timed out after ${ms} ms`));
}

function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut(ms)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
