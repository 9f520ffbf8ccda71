// A browser rpcx client over the browser's WebSocket (Go rpcx: `client.Client` on the `ws`/`wss`
// networks). Portable: no `node:` imports; frames are encoded and decoded by src/protocol, values by
// the JSON, msgpack and raw codecs. The WebSocket is a byte stream as in Go: incoming message
// payloads go through one FrameDecoder whatever their boundaries; each call is one binary message.
// Gzip as Go: with `compressType: CompressType.Gzip` a request payload over 1,024 bytes is gzipped
// (Go's client rule), and compressed replies and pushes are inflated (fflate, src/browser/gzip.ts).
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import { CodecRegistry } from '../codec/registry.js';
import type { Codec, CodecOptions } from '../codec/types.js';
import { JsonCodec } from '../codec/json.js';
import { MsgpackCodec } from '../codec/msgpack.js';
import { RawCodec } from '../codec/none.js';
import { CompressType, MessageStatusType, MessageType, MetaKey, SerializeType } from '../protocol/constants.js';
import { clientCompressType, type CompressorTable } from '../protocol/compress.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { heartbeatRequest } from '../protocol/heartbeat.js';
import { createMessage, encodeMessage, toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';
import { browserCompressors } from './gzip.js';
import { createProxy, type ServiceProxy } from '../client/proxy.js';
import { callWithPlugins, type ClientPlugin } from '../client/plugins.js';

/** The part of the browser's `WebSocket` this client uses. */
export interface BrowserWebSocket {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type BrowserWebSocketConstructor = new (url: string) => BrowserWebSocket;

/** Background reconnection with exponential backoff (as the Node `Client`'s `reconnect`). */
export interface BrowserReconnectOptions {
  /** First delay, ms (default 100). */
  initialDelayMs?: number;
  /** Longest delay, ms (default 10,000). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  multiplier?: number;
  /** Random spread of each delay, 0-1 (default 0.2: ±20 %). */
  jitter?: number;
  /** Attempts after a drop before waiting for the next call again (default: no limit). */
  maxAttempts?: number;
}

/** Options of {@link BrowserClient}. */
export interface BrowserClientOptions {
  /** Serialize type of calls (Go: `Option.SerializeType`). Default MsgPack. */
  serializeType?: number;
  /** Compression of request payloads over 1,024 bytes (Go: `Option.CompressType`). Default None. */
  compressType?: CompressType;
  /** Compressors by compress type; default Gzip (fflate), as Go registers it by default. */
  compressors?: CompressorTable;
  /** Default call timeout in ms (it covers a re-dial the call waits for); 0 = none. Default 0. */
  timeoutMs?: number;
  /** Send Go's heartbeat frame this often (Go: `Option.Heartbeat`); 0 = off. Default 0. */
  heartbeatIntervalMs?: number;
  /**
   * With heartbeats on: a heartbeat unanswered this long means the server or the path to it is
   * gone (a WebSocket can stay "open" across a network change); the WebSocket is then dropped as
   * if it had closed, so calls fail at once and `reconnect` starts. Go: `Option.MaxWaitForHeartbeat`
   * (0 means 30 s). Default 30,000 ms.
   */
  maxWaitForHeartbeatMs?: number;
  /** Path of the rpcx endpoint (Go: `Option.RPCPath`). Default `/_rpcx_`. */
  rpcPath?: string;
  /**
   * Codecs; default JSON, msgpack and raw. Thrift (`rpcx/browser`) and protobuf
   * (`rpcx/browser/protobuf`, so that bundles without it leave protobufjs out) are not in the default:
   * `new CodecRegistry([new RawCodec(), new JsonCodec(), new MsgpackCodec(), new ProtobufCodec(), new ThriftCodec()])`.
   */
  codecs?: CodecRegistry;
  /** The WebSocket constructor; default `globalThis.WebSocket`. */
  WebSocket?: BrowserWebSocketConstructor;
  /**
   * Re-dial in the background after the WebSocket drops. Off by default: as Go's XClient and the
   * Node `Client`, the next call dials again. Either way, calls in flight when it drops reject with
   * CONNECTION (they are not resent: the server may have run them), and push listeners stay.
   */
  reconnect?: boolean | BrowserReconnectOptions;
  /**
   * Client plugins, as the Node `Client`'s (Go `SetPlugins`): `preCall` / `postCall` around each
   * call (a `BrowserXClient`'s: each attempt), `clientBeforeEncode` / `clientAfterDecode`; e.g.
   * `openTelemetryClientPlugin()` of `rpcx/otel` to carry the page's trace to the servers.
   */
  plugins?: readonly ClientPlugin[];
  /** A WebSocket not open after this long is given up with CONNECTION (Go: `Option.ConnectTimeout`; default 10 s, as the Node client). */
  connectTimeoutMs?: number;
}

export interface BrowserCallOptions {
  metadata?: MetadataInit;
  timeoutMs?: number;
  signal?: AbortSignal;
  serializeType?: number;
  /** Codec options for encoding the args, e.g. `{ type }` for protobuf (a protobufjs `Type`) or thrift (a struct descriptor). */
  argsCodec?: CodecOptions;
  /** Codec options for decoding the reply. */
  replyCodec?: CodecOptions;
}

/** Connection state changes of a {@link BrowserClient}, a `type`-discriminated union (as the Node `Client`'s `ClientStatus`). */
export type BrowserClientStatus =
  | { type: 'connected'; url: string }
  | { type: 'disconnected'; url: string; error: RpcxError }
  | { type: 'reconnecting'; url: string; attempt: number; delayMs: number }
  | { type: 'closed'; url: string };

interface Pending {
  resolve: (m: Message) => void;
  reject: (e: RpcxError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One open WebSocket and what belongs to it alone: its frame decoder and its heartbeat. */
interface Link {
  ws: BrowserWebSocket;
  decoder: FrameDecoder;
  heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The deadline of the heartbeat in flight, if one is. */
  heartbeatWait: ReturnType<typeof setTimeout> | undefined;
}

/** `ws@host:port` / `wss@host:port` (Go's keys) or a `ws://`/`wss://` URL. */
export function webSocketUrl(address: string, rpcPath = '/_rpcx_'): string {
  if (/^wss?:\/\//.test(address)) return address;
  const at = address.indexOf('@');
  const network = at < 0 ? 'ws' : address.slice(0, at);
  if (network !== 'ws' && network !== 'wss') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `a browser speaks ws or wss, not ${JSON.stringify(network)}`);
  return `${network}://${address.slice(at + 1)}${rpcPath}`;
}

/**
 * An rpcx client in the browser (Go: `client.Client` over `ws`/`wss`): calls, oneway sends,
 * server pushes and heartbeats on one WebSocket at a time. The browser sends `Origin` itself,
 * which Go's server requires.
 *
 * When the WebSocket drops, calls in flight reject with CONNECTION, `onStatus` listeners hear
 * `disconnected`, and the next call dials again (Go's XClient and the Node `Client` do the same);
 * with `reconnect` the client also re-dials in the background with backoff. Each WebSocket gets a
 * frame decoder of its own, so bytes of a frame cut by a drop never reach the next one. Push
 * listeners belong to the client and hear pushes from every WebSocket it opens. `close()` is final.
 */
export class BrowserClient {
  readonly url: string;
  readonly #Ctor: BrowserWebSocketConstructor;
  readonly #compressors: CompressorTable;
  readonly #codecs: CodecRegistry;
  readonly #pending = new Map<bigint, Pending>();
  readonly #options: BrowserClientOptions;
  readonly #plugins: readonly ClientPlugin[];
  /** The plugins with preCall or postCall; undefined when none (no cost per call). */
  readonly #callPlugins: readonly ClientPlugin[] | undefined;
  readonly #pushListeners = new Set<(m: Message) => void>();
  readonly #statusListeners = new Set<(s: BrowserClientStatus) => void>();
  #seq = 1n;
  #link: Link | undefined;
  #dialing: Promise<Link> | undefined;
  #closed: RpcxError | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;

  /** A client that dials on its first call (or {@link open}); {@link BrowserClient.connect} also waits for the WebSocket to open. */
  constructor(address: string, options: BrowserClientOptions = {}) {
    this.url = webSocketUrl(address, options.rpcPath);
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
    if (Ctor === undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'no WebSocket in this runtime');
    this.#Ctor = Ctor;
    this.#options = options;
    this.#plugins = options.plugins ?? [];
    const calls = this.#plugins.filter((p) => p.preCall !== undefined || p.postCall !== undefined);
    this.#callPlugins = calls.length > 0 ? calls : undefined;
    this.#compressors = options.compressors ?? browserCompressors;
    this.#codecs = options.codecs ?? new CodecRegistry([new RawCodec(), new JsonCodec(), new MsgpackCodec()]);
  }

  /** Opens the WebSocket and resolves once it is open; rejects with CONNECTION when it can not be opened. */
  static async connect(address: string, options: BrowserClientOptions = {}): Promise<BrowserClient> {
    const c = new BrowserClient(address, options);
    try {
      await c.open();
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** Whether a WebSocket is open now. */
  get connected(): boolean {
    return this.#link !== undefined;
  }

  /** Opens the WebSocket if none is open (one dial however many wait); resolves once it is open. */
  async open(): Promise<void> {
    await this.#ensureLink();
  }

  /** Calls `servicePath.serviceMethod` and resolves with the decoded reply (Go: `Client.Call`). */
  async call<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.callWithMetadata<T>(servicePath, serviceMethod, args, options)).reply;
  }

  /** As {@link call}, with the response metadata. */
  callWithMetadata<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<{ reply: T; metadata: Map<string, string> }> {
    if (this.#callPlugins === undefined) return this.#callWithMetadata<T>(servicePath, serviceMethod, args, options);
    return this.#plugged(servicePath, serviceMethod, args, options, (o) => this.#callWithMetadata<T>(servicePath, serviceMethod, args, o), (r) => r.reply);
  }

  /** The plugins' preCall/postCall around `run` (src/client/plugins.ts). */
  #plugged<R>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions, run: (o: BrowserCallOptions) => Promise<R>, replyOf: (r: R) => unknown): Promise<R> {
    return callWithPlugins<R>(
      this.#callPlugins!,
      {
        servicePath,
        serviceMethod,
        args,
        metadata: options.metadata,
        timeoutMs: options.timeoutMs ?? this.#options.timeoutMs,
        signal: options.signal,
        address: this.url,
        run: (metadata, timeoutMs) => run({ ...options, metadata, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
        replyOf,
      },
      () => {}, // postCall errors: ignored, as in Go
    );
  }

  async #callWithMetadata<T>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions): Promise<{ reply: T; metadata: Map<string, string> }> {
    const { msg, codec } = this.#request(servicePath, serviceMethod, args, options, false);
    const res = await this.#roundTrip(msg, options);
    const metadata = res.metadata;
    if (res.messageStatusType === MessageStatusType.Error) {
      const text = metadata.get(MetaKey.ServiceError) ?? '';
      metadata.delete(MetaKey.ServiceError);
      throw new ServiceError(text, metadata, res.payload.length > 0 ? safeDecode(codec, res.payload, options.replyCodec) : undefined);
    }
    return { reply: (res.payload.length === 0 ? undefined : codec.decode(res.payload, options.replyCodec)) as T, metadata };
  }

  /**
   * Sends a oneway request (Go: `XClient.Oneshot`, a call with a nil reply): the server runs it
   * and answers nothing. Resolves once handed to the WebSocket (dialing first if needed).
   */
  oneway(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<void> {
    if (this.#callPlugins === undefined) return this.#oneway(servicePath, serviceMethod, args, options);
    return this.#plugged(servicePath, serviceMethod, args, options, (o) => this.#oneway(servicePath, serviceMethod, args, o), () => undefined);
  }

  async #oneway(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions): Promise<void> {
    const { msg } = this.#request(servicePath, serviceMethod, args, options, true);
    const bytes = this.#encode(msg);
    const link = await this.#linkWithin(options);
    if (!this.#send(link, bytes)) throw new RpcxError(ErrorCode.CONNECTION, `oneway to ${this.url}: the WebSocket refused the send`);
  }

  /**
   * A typed proxy of one service (as the Node `OneClient.proxy` and `XClient.proxy`):
   * `client.service<Arith>('Arith').Mul({ A: 2, B: 3 }, { timeoutMs })` is `client.call('Arith', 'Mul', …)`.
   */
  service<T extends object>(servicePath: string): ServiceProxy<T, BrowserCallOptions> {
    return createProxy<T, BrowserCallOptions>({ call: (m, a, o) => this.call(servicePath, m, a, o) });
  }

  /** Calls `fn` with every server push (Go: the channel of `NewBidirectionalXClient`); returns an unsubscribe function. */
  onMessage(fn: (m: Message) => void): () => void {
    this.#pushListeners.add(fn);
    return () => this.#pushListeners.delete(fn);
  }

  /** Calls `fn` on every connection state change; returns an unsubscribe function. */
  onStatus(fn: (s: BrowserClientStatus) => void): () => void {
    this.#statusListeners.add(fn);
    return () => this.#statusListeners.delete(fn);
  }

  /** Closes the WebSocket for good; pending and later calls fail with CONNECTION. */
  close(): void {
    if (this.#closed !== undefined) return;
    this.#closed = new RpcxError(ErrorCode.CONNECTION, `client for ${this.url} is closed`);
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const link = this.#link;
    if (link !== undefined) {
      this.#unlink(link, this.#closed);
      link.ws.close(1000);
    }
    this.#status({ type: 'closed', url: this.url });
  }

  #request(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions, oneway: boolean): { msg: Message; codec: Codec } {
    const st = options.serializeType ?? this.#options.serializeType ?? SerializeType.MsgPack;
    const codec = this.#codecs.find(st);
    if (codec === undefined) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${st}`);
    const payload = codec.encode(args, options.argsCodec);
    const compressType = clientCompressType(this.#options.compressType ?? CompressType.None, payload.length);
    const msg = createMessage({ seq: this.#seq++, servicePath, serviceMethod, serializeType: st, compressType, oneway, metadata: toMetadataMap(options.metadata), payload });
    for (const p of this.#plugins) ignoreErrors(() => p.clientBeforeEncode?.(msg));
    return { msg, codec };
  }

  /** The open link, dialing if needed, bounded by the call's timeout and signal. */
  #linkWithin(options: BrowserCallOptions, deadline?: number): Promise<Link> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (this.#link !== undefined) return Promise.resolve(this.#link);
    const ms = deadline === undefined ? (options.timeoutMs ?? this.#options.timeoutMs ?? 0) : Math.max(1, deadline - Date.now());
    const signal = options.signal;
    if (ms <= 0 && signal === undefined) return this.#ensureLink();
    return new Promise<Link>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        reject(new RpcxError(ErrorCode.CANCELLED, 'call aborted', { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (ms > 0) {
        timer = setTimeout(() => {
          settle();
          reject(new RpcxError(ErrorCode.TIMEOUT, `call timed out after ${ms} ms (dialing ${this.url})`));
        }, ms);
      }
      this.#ensureLink().then(
        (l) => {
          settle();
          resolve(l);
        },
        (err: unknown) => {
          settle();
          reject(err);
        },
      );
    });
  }

  #ensureLink(): Promise<Link> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (this.#link !== undefined) return Promise.resolve(this.#link);
    this.#dialing ??= this.#dial().finally(() => {
      this.#dialing = undefined;
    });
    return this.#dialing;
  }

  #dial(): Promise<Link> {
    return new Promise<Link>((resolve, reject) => {
      let ws: BrowserWebSocket;
      try {
        ws = new this.#Ctor(this.url);
      } catch (err) {
        reject(RpcxError.from(err, ErrorCode.CONNECTION));
        return;
      }
      ws.binaryType = 'arraybuffer';
      const limit = this.#options.connectTimeoutMs ?? 10_000;
      const timer =
        limit > 0
          ? setTimeout(() => {
              failed(`dial ${this.url}: not open after ${limit} ms`);
              ws.onerror = () => {}; // closing before open reports an error (the ws package throws it without a listener)
              ws.close();
            }, limit)
          : undefined;
      const failed = (text: string): void => {
        clearTimeout(timer);
        ws.onopen = ws.onclose = ws.onerror = null;
        reject(new RpcxError(ErrorCode.CONNECTION, text));
        this.#scheduleReconnect();
      };
      ws.onerror = () => failed(`dial ${this.url} failed`);
      ws.onclose = (ev) => failed(`dial ${this.url}: closed (${ev.code ?? '?'})`);
      ws.onopen = () => {
        clearTimeout(timer);
        if (this.#closed !== undefined) {
          ws.onopen = ws.onclose = ws.onerror = null;
          ws.close(1000);
          reject(this.#closed);
          return;
        }
        const link: Link = { ws, decoder: new FrameDecoder({ compressors: this.#compressors }), heartbeat: undefined, heartbeatWait: undefined };
        ws.onmessage = (ev) => this.#onData(link, ev.data);
        ws.onclose = (ev) => this.#dropped(link, new RpcxError(ErrorCode.CONNECTION, `connection to ${this.url} closed${ev.code === undefined ? '' : ` (${ev.code})`}`));
        ws.onerror = () => this.#dropped(link, new RpcxError(ErrorCode.CONNECTION, `connection to ${this.url} failed`));
        const hb = this.#options.heartbeatIntervalMs ?? 0;
        if (hb > 0) {
          const maxWait = this.#options.maxWaitForHeartbeatMs || 30_000; // Go: 0 -> 30 s
          link.heartbeat = setInterval(() => {
            if (this.#link !== link || link.heartbeatWait !== undefined) return; // one heartbeat in flight at a time
            link.heartbeatWait = setTimeout(() => {
              link.heartbeatWait = undefined;
              this.#dropped(link, new RpcxError(ErrorCode.CONNECTION, `no heartbeat reply from ${this.url} within ${maxWait} ms`));
              link.ws.close(1000);
            }, maxWait);
            this.#send(link, this.#encode(heartbeatRequest(this.#seq++, BigInt(Date.now()) * 1_000_000n)));
          }, hb);
        }
        this.#link = link;
        this.#attempt = 0;
        this.#status({ type: 'connected', url: this.url });
        resolve(link);
      };
    });
  }

  #roundTrip(msg: Message, options: BrowserCallOptions): Promise<Message> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const ms = options.timeoutMs ?? this.#options.timeoutMs ?? 0;
    const deadline = ms > 0 ? Date.now() + ms : undefined;
    let bytes: Uint8Array;
    try {
      bytes = this.#encode(msg);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#linkWithin(options, deadline).then(
      (link) =>
        new Promise<Message>((resolve, reject) => {
          const p: Pending = { resolve, reject, timer: undefined };
          const done = (): void => {
            this.#pending.delete(msg.seq);
            if (p.timer !== undefined) clearTimeout(p.timer);
            options.signal?.removeEventListener('abort', onAbort);
          };
          const onAbort = (): void => {
            done();
            reject(new RpcxError(ErrorCode.CANCELLED, 'call aborted', { cause: options.signal?.reason }));
          };
          p.resolve = (m) => {
            done();
            resolve(m);
          };
          p.reject = (e) => {
            done();
            reject(e);
          };
          if (deadline !== undefined) p.timer = setTimeout(() => p.reject(new RpcxError(ErrorCode.TIMEOUT, `call timed out after ${ms} ms`)), Math.max(1, deadline - Date.now()));
          if (options.signal?.aborted) return onAbort();
          options.signal?.addEventListener('abort', onAbort, { once: true });
          this.#pending.set(msg.seq, p);
          this.#send(link, bytes);
        }),
    );
  }

  /**
   * Sends an encoded frame on `link`; false when the WebSocket threw (the link is then dropped).
   * Frames are encoded before, so one that can not be encoded fails its call alone.
   */
  #send(link: Link, bytes: Uint8Array): boolean {
    try {
      link.ws.send(bytes);
      return true;
    } catch (err) {
      this.#dropped(link, RpcxError.from(err, ErrorCode.CONNECTION));
      try {
        link.ws.close(1011);
      } catch {
        // already closing
      }
      return false;
    }
  }

  /** The frame of `msg` (gzipped as its compress type says); a frame Go could not read throws a typed error. */
  #encode(msg: Message): Uint8Array {
    try {
      return encodeMessage(msg, { compressors: this.#compressors });
    } catch (err) {
      throw RpcxError.from(err, ErrorCode.PROTOCOL);
    }
  }

  #onData(link: Link, data: unknown): void {
    if (this.#link !== link) return;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
    if (bytes === undefined) return;
    try {
      link.decoder.write(bytes);
      for (let m = link.decoder.read(); m !== undefined; m = link.decoder.read()) this.#onFrame(m);
    } catch (err) {
      this.#dropped(link, RpcxError.from(err, ErrorCode.PROTOCOL));
      link.ws.close(1002);
    }
  }

  #onFrame(m: Message): void {
    for (const p of this.#plugins) ignoreErrors(() => p.clientAfterDecode?.(m));
    if (m.messageType === MessageType.Request) {
      for (const fn of [...this.#pushListeners]) fn(m);
      return;
    }
    if (m.heartbeat) {
      const link = this.#link;
      if (link?.heartbeatWait !== undefined) {
        clearTimeout(link.heartbeatWait);
        link.heartbeatWait = undefined;
      }
      return;
    }
    this.#pending.get(m.seq)?.resolve(m);
  }

  /** `link` is gone: its calls fail with `err`; the client dials again on the next call, or in the background with `reconnect`. */
  #dropped(link: Link, err: RpcxError): void {
    if (this.#link !== link) return;
    this.#unlink(link, err);
    this.#status({ type: 'disconnected', url: this.url, error: err });
    this.#scheduleReconnect();
  }

  #unlink(link: Link, err: RpcxError): void {
    if (this.#link === link) this.#link = undefined;
    if (link.heartbeat !== undefined) clearInterval(link.heartbeat);
    if (link.heartbeatWait !== undefined) clearTimeout(link.heartbeatWait);
    link.ws.onmessage = link.ws.onclose = link.ws.onerror = null;
    for (const p of [...this.#pending.values()]) p.reject(err);
  }

  #scheduleReconnect(): void {
    const r = this.#options.reconnect;
    if (r === undefined || r === false || this.#closed !== undefined || this.#reconnectTimer !== undefined || this.#link !== undefined) return;
    const o: BrowserReconnectOptions = r === true ? {} : r;
    if (o.maxAttempts !== undefined && this.#attempt >= o.maxAttempts) return;
    const attempt = ++this.#attempt;
    const base = Math.min(o.maxDelayMs ?? 10_000, (o.initialDelayMs ?? 100) * (o.multiplier ?? 2) ** (attempt - 1));
    const jitter = o.jitter ?? 0.2;
    const delayMs = Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * Math.random())));
    this.#status({ type: 'reconnecting', url: this.url, attempt, delayMs });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed !== undefined || this.#link !== undefined) return;
      this.#ensureLink().catch(() => {
        /* a failed dial schedules the next attempt */
      });
    }, delayMs);
  }

  #status(s: BrowserClientStatus): void {
    for (const fn of [...this.#statusListeners]) {
      try {
        fn(s);
      } catch {
        // a listener's error is its own
      }
    }
  }
}

function safeDecode(codec: Codec, payload: Uint8Array, options: CodecOptions | undefined): unknown {
  try {
    return codec.decode(payload, options);
  } catch {
    return undefined;
  }
}

/** Runs a plugin hook whose errors Go ignores (`ClientBeforeEncode`, `ClientAfterDecode`, `PostCall`). */
function ignoreErrors(f: () => void): void {
  try {
    f();
  } catch {
    // ignored, as in Go
  }
}
