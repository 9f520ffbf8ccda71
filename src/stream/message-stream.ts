// Message streams over a stream-service connection: every message is one complete rpcx
// protocol.Message frame (Go reads and writes them with protocol.Read and Message.WriteTo), a
// failure is a frame with status Error and `__rpcx_error__`, end-of-stream is the half-close.
// The caller's frames are Requests, the server's Responses; each side numbers its own from 1.
// Framing is src/protocol's (encodeMessage, FrameDecoder); bytes move through a Transport.
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import type { Codec, CodecOptions } from '../codec/types.js';
import { MessageStatusType, MessageType, MetaKey, CompressType } from '../protocol/constants.js';
import { encodeMessage, type Message } from '../protocol/message.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { defaultCompressors } from '../node/gzip.js';
import type { Transport } from './transport.js';

/** Meta keys of the `Stream` call that opens a message stream (the Go peers use the same). */
export const StreamMetaKey = {
  /** The service path of the stream handler. */
  Path: '__rpcx_stream_path',
  /** Its method. */
  Method: '__rpcx_stream_method',
  /** The serialize type of the messages, in decimal (default MsgPack). */
  Serialize: '__rpcx_stream_serialize',
} as const;

/** @internal Options of a {@link MessageChannel}. */
export interface ChannelOptions {
  /** Largest frame body accepted (`totalLen`); default 64 MiB. */
  maxMessageLength?: number;
  /** Codec options for encoding sent messages (protobuf/thrift `type`). */
  sendType?: unknown;
  /** Codec options for decoding received messages. */
  receiveType?: unknown;
}

const EMPTY = new Uint8Array(0);
const NO_METADATA: Map<string, string> = new Map();

/**
 * @internal One side of a message stream. `send` resolves once the frame is written without
 * exceeding the transport's buffer (so an awaited loop of sends is slowed by a slow reader);
 * the iterator pulls bytes only as it is consumed (so a slow consumer slows the peer).
 */
export class MessageChannel<Out, In> implements AsyncIterable<In> {
  readonly #transport: Transport;
  readonly #codec: Codec;
  readonly #messageType: MessageType;
  readonly #expect: MessageType;
  readonly #path: string;
  readonly #method: string;
  readonly #options: ChannelOptions;
  #seq = 0n;
  #sendChain: Promise<void> = Promise.resolve();
  #ended = false;
  #iterated = false;
  #failure: RpcxError | undefined;

  constructor(transport: Transport, role: 'client' | 'server', path: string, method: string, codec: Codec, options: ChannelOptions = {}) {
    this.#transport = transport;
    this.#codec = codec;
    this.#messageType = role === 'client' ? MessageType.Request : MessageType.Response;
    this.#expect = role === 'client' ? MessageType.Response : MessageType.Request;
    this.#path = path;
    this.#method = method;
    this.#options = options;
  }

  get transport(): Transport {
    return this.#transport;
  }

  #frame(payload: Uint8Array, status: number, metadata: Map<string, string>): Uint8Array {
    const msg: Message = {
      version: 0,
      messageType: this.#messageType,
      heartbeat: false,
      oneway: false,
      compressType: CompressType.None,
      messageStatusType: status,
      serializeType: this.#codec.serializeType,
      seq: ++this.#seq,
      servicePath: this.#path,
      serviceMethod: this.#method,
      metadata,
      payload,
    };
    return encodeMessage(msg);
  }

  /** Encodes `value` and writes it as one frame. Rejects after `end()` or once the stream failed. */
  send(value: Out): Promise<void> {
    if (this.#ended) return Promise.reject(new RpcxError(ErrorCode.INVALID_ARGUMENT, 'send after end() (close-send)'));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    let frame: Uint8Array;
    try {
      const co: CodecOptions | undefined = this.#options.sendType === undefined ? undefined : { type: this.#options.sendType };
      frame = this.#frame(this.#codec.encode(value, co), MessageStatusType.Normal, NO_METADATA);
    } catch (err) {
      return Promise.reject(RpcxError.from(err, ErrorCode.CODEC));
    }
    return this.#write(frame);
  }

  #write(frame: Uint8Array): Promise<void> {
    const p = this.#sendChain.then(() => this.#transport.send(frame));
    this.#sendChain = p.catch(() => undefined);
    return p;
  }

  /** Ends this side (gRPC `CloseSend`): the half-close, after every queued frame. */
  end(): Promise<void> {
    if (this.#ended) return this.#sendChain;
    this.#ended = true;
    const p = this.#sendChain.then(() => this.#transport.closeWrite());
    this.#sendChain = p.catch(() => undefined);
    return p;
  }

  /** Ends this side with an error frame (status Error, `__rpcx_error__` = `text`), then the half-close. */
  endWithError(text: string): Promise<void> {
    if (this.#ended) return this.#sendChain;
    const frame = this.#frame(EMPTY, MessageStatusType.Error, new Map([[MetaKey.ServiceError, text]]));
    void this.#write(frame).catch(() => undefined);
    return this.end();
  }

  /** Closes both ways at once; the peer sees a reset. */
  abort(reason: RpcxError): void {
    this.#failure ??= reason;
    this.#transport.close(reason);
  }

  /** Messages from the peer until its half-close. An error frame throws a `ServiceError` with its text. */
  async *[Symbol.asyncIterator](): AsyncIterator<In> {
    if (this.#iterated) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'a message stream can be iterated once');
    this.#iterated = true;
    // A Go peer may gzip a frame (Message.SetCompressType): read it; this side never compresses.
    const decoder = new FrameDecoder({ maxMessageLength: this.#options.maxMessageLength ?? 64 * 1024 * 1024, compressors: defaultCompressors });
    const co: CodecOptions | undefined = this.#options.receiveType === undefined ? undefined : { type: this.#options.receiveType };
    try {
      for await (const chunk of this.#transport) {
        decoder.write(chunk);
        for (let m = decoder.read(); m !== undefined; m = decoder.read()) {
          if (m.messageType !== this.#expect || m.heartbeat) {
            throw new RpcxError(ErrorCode.PROTOCOL, `message stream: unexpected ${m.heartbeat ? 'heartbeat' : m.messageType === MessageType.Request ? 'request' : 'response'} frame`);
          }
          if (m.messageStatusType === MessageStatusType.Error) {
            throw new ServiceError(m.metadata.get(MetaKey.ServiceError) ?? '', m.metadata);
          }
          yield this.#codec.decode(m.payload, co) as In;
        }
      }
      if (decoder.hasPartialFrame) throw new RpcxError(ErrorCode.PROTOCOL, `message stream: truncated frame at end of stream (${decoder.bufferedBytes} bytes)`);
      // The server has finished: a caller that did not close-send yet does it now, so the
      // connection closes (a server reads on until the caller's half-close by itself).
      if (this.#messageType === MessageType.Request) void this.end().catch(() => undefined);
    } catch (err) {
      const e = RpcxError.from(err, ErrorCode.PROTOCOL);
      if (!(e instanceof ServiceError)) this.abort(e);
      throw this.#failure !== undefined && !(e instanceof ServiceError) ? this.#failure : e;
    }
  }
}
