// A browser rpcx client over the browser's WebSocket (Go rpcx: `client.Client` on the `ws`/`wss`
// networks). Portable: no `node:` imports; frames are encoded and decoded by src/protocol, values by
// the JSON, msgpack and raw codecs. The WebSocket is a byte stream as in Go: incoming message
// payloads go through one FrameDecoder whatever their boundaries; each call is one binary message.
// Gzip as Go: with `compressType: CompressType.Gzip` a request payload over 1,024 bytes is gzipped
// (Go's client rule), and compressed replies and pushes are inflated (fflate, src/browser/gzip.ts).
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import { CodecRegistry } from '../codec/registry.js';
import { JsonCodec } from '../codec/json.js';
import { MsgpackCodec } from '../codec/msgpack.js';
import { RawCodec } from '../codec/none.js';
import { CompressType, MessageStatusType, MessageType, MetaKey, SerializeType } from '../protocol/constants.js';
import { clientCompressType, type CompressorTable } from '../protocol/compress.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { heartbeatRequest } from '../protocol/heartbeat.js';
import { createMessage, encodeMessage, toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';
import { browserCompressors } from './gzip.js';

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

/** Options of {@link BrowserClient}. */
export interface BrowserClientOptions {
  /** Serialize type of calls (Go: `Option.SerializeType`). Default MsgPack. */
  serializeType?: number;
  /** Compression of request payloads over 1,024 bytes (Go: `Option.CompressType`). Default None. */
  compressType?: CompressType;
  /** Compressors by compress type; default Gzip (fflate), as Go registers it by default. */
  compressors?: CompressorTable;
  /** Default call timeout in ms; 0 = none. Default 0. */
  timeoutMs?: number;
  /** Send Go's heartbeat frame this often (Go: `Option.Heartbeat`); 0 = off. Default 0. */
  heartbeatIntervalMs?: number;
  /** Path of the rpcx endpoint (Go: `Option.RPCPath`). Default `/_rpcx_`. */
  rpcPath?: string;
  /** Codecs; default JSON, msgpack and raw. */
  codecs?: CodecRegistry;
  /** The WebSocket constructor; default `globalThis.WebSocket`. */
  WebSocket?: BrowserWebSocketConstructor;
}

export interface BrowserCallOptions {
  metadata?: MetadataInit;
  timeoutMs?: number;
  signal?: AbortSignal;
  serializeType?: number;
}

interface Pending {
  resolve: (m: Message) => void;
  reject: (e: RpcxError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
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
 * An rpcx client in the browser (Go: `client.Client` over `ws`/`wss`): calls, server pushes and
 * heartbeats on one WebSocket. The browser sends `Origin` itself, which Go's server requires.
 */
export class BrowserClient {
  readonly url: string;
  readonly #ws: BrowserWebSocket;
  readonly #decoder: FrameDecoder;
  readonly #compressors: CompressorTable;
  readonly #codecs: CodecRegistry;
  readonly #pending = new Map<bigint, Pending>();
  readonly #options: BrowserClientOptions;
  readonly #pushListeners = new Set<(m: Message) => void>();
  #seq = 1n;
  #closed: RpcxError | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  private constructor(url: string, ws: BrowserWebSocket, options: BrowserClientOptions) {
    this.url = url;
    this.#ws = ws;
    this.#options = options;
    this.#compressors = options.compressors ?? browserCompressors;
    this.#decoder = new FrameDecoder({ compressors: this.#compressors });
    this.#codecs = options.codecs ?? new CodecRegistry([new RawCodec(), new JsonCodec(), new MsgpackCodec()]);
    ws.onmessage = (ev) => this.#onData(ev.data);
    ws.onclose = (ev) => this.#fail(new RpcxError(ErrorCode.CONNECTION, `connection to ${url} closed${ev.code === undefined ? '' : ` (${ev.code})`}`));
    ws.onerror = () => this.#fail(new RpcxError(ErrorCode.CONNECTION, `connection to ${url} failed`));
    const hb = options.heartbeatIntervalMs ?? 0;
    if (hb > 0) {
      this.#heartbeat = setInterval(() => {
        if (this.#closed === undefined) this.#send(heartbeatRequest(this.#seq++, BigInt(Date.now()) * 1_000_000n));
      }, hb);
    }
  }

  /** Opens the WebSocket and resolves once it is open. */
  static connect(address: string, options: BrowserClientOptions = {}): Promise<BrowserClient> {
    const url = webSocketUrl(address, options.rpcPath);
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
    if (Ctor === undefined) return Promise.reject(new RpcxError(ErrorCode.INVALID_ARGUMENT, 'no WebSocket in this runtime'));
    return new Promise((resolve, reject) => {
      const ws = new Ctor(url);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => resolve(new BrowserClient(url, ws, options));
      ws.onerror = () => reject(new RpcxError(ErrorCode.CONNECTION, `dial ${url} failed`));
      ws.onclose = (ev) => reject(new RpcxError(ErrorCode.CONNECTION, `dial ${url}: closed (${ev.code ?? '?'})`));
    });
  }

  /** Calls `servicePath.serviceMethod` and resolves with the decoded reply (Go: `Client.Call`). */
  async call<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.callWithMetadata<T>(servicePath, serviceMethod, args, options)).reply;
  }

  /** As {@link call}, with the response metadata. */
  async callWithMetadata<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<{ reply: T; metadata: Map<string, string> }> {
    const st = options.serializeType ?? this.#options.serializeType ?? SerializeType.MsgPack;
    const codec = this.#codecs.find(st);
    if (codec === undefined) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${st}`);
    const seq = this.#seq++;
    const payload = codec.encode(args);
    const compressType = clientCompressType(this.#options.compressType ?? CompressType.None, payload.length);
    const msg = createMessage({ seq, servicePath, serviceMethod, serializeType: st, compressType, metadata: toMetadataMap(options.metadata), payload });
    const res = await this.#roundTrip(msg, options);
    const metadata = res.metadata;
    if (res.messageStatusType === MessageStatusType.Error) {
      const text = metadata.get(MetaKey.ServiceError) ?? '';
      metadata.delete(MetaKey.ServiceError);
      throw new ServiceError(text, metadata, res.payload.length > 0 ? safeDecode(codec, res.payload) : undefined);
    }
    return { reply: (res.payload.length === 0 ? undefined : codec.decode(res.payload)) as T, metadata };
  }

  /** Calls `fn` with every server push (Go: the channel of `NewBidirectionalXClient`); returns an unsubscribe function. */
  onMessage(fn: (m: Message) => void): () => void {
    this.#pushListeners.add(fn);
    return () => this.#pushListeners.delete(fn);
  }

  /** Closes the WebSocket; pending calls fail with CONNECTION. */
  close(): void {
    this.#fail(new RpcxError(ErrorCode.CONNECTION, `client for ${this.url} is closed`));
    this.#ws.close(1000);
  }

  #roundTrip(msg: Message, options: BrowserCallOptions): Promise<Message> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise<Message>((resolve, reject) => {
      const ms = options.timeoutMs ?? this.#options.timeoutMs ?? 0;
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
      if (ms > 0) p.timer = setTimeout(() => p.reject(new RpcxError(ErrorCode.TIMEOUT, `call timed out after ${ms} ms`)), ms);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(msg.seq, p);
      this.#send(msg);
    });
  }

  #send(msg: Message): void {
    try {
      this.#ws.send(encodeMessage(msg, { compressors: this.#compressors }));
    } catch (err) {
      this.#fail(RpcxError.from(err, ErrorCode.CONNECTION));
    }
  }

  #onData(data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
    if (bytes === undefined) return;
    try {
      this.#decoder.write(bytes);
      for (let m = this.#decoder.read(); m !== undefined; m = this.#decoder.read()) this.#onFrame(m);
    } catch (err) {
      this.#fail(RpcxError.from(err, ErrorCode.PROTOCOL));
      this.#ws.close(1002);
    }
  }

  #onFrame(m: Message): void {
    if (m.messageType === MessageType.Request) {
      for (const fn of this.#pushListeners) fn(m);
      return;
    }
    if (m.heartbeat) return;
    this.#pending.get(m.seq)?.resolve(m);
  }

  #fail(err: RpcxError): void {
    if (this.#closed !== undefined) return;
    this.#closed = err;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    for (const p of [...this.#pending.values()]) p.reject(err);
  }
}

function safeDecode(codec: { decode(b: Uint8Array): unknown }, payload: Uint8Array): unknown {
  try {
    return codec.decode(payload);
  } catch {
    return undefined;
  }
}
