/**
 * Calls a side makes to its peer over a connection that the peer opened (server to client), or
 * that it opened itself but on which the peer registered services (a client's handlers called
 * by the server's handlers, symmetric calls). Kept apart from the client's own call table so
 * that both sides share it: a `ServerConnection` holds one.
 *
 * Wire format (docs/bidirectional.md):
 *   - the call is a Request frame, not oneway, not heartbeat, with a seq from the caller's
 *     peer-call space, [2^63, 2^64): {@link PEER_CALL_SEQ_BASE} upwards;
 *   - the answer is a Response frame with the same seq, as any rpcx reply.
 * Go rpcx's client matches every frame that is not a push (oneway request) to its own pending
 * calls by seq (client/client.go input()), whatever its message type. Its seqs count up from 0
 * and never reach 2^63: so a Go client silently drops such a call instead of mistaking it for the
 * reply to one of its own calls, and the caller's call ends with its timeout.
 */
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import type { CodecOptions } from '../codec/types.js';
import { CompressType, MessageStatusType, MessageType, MetaKey, SerializeType } from '../protocol/constants.js';
import { clientCompressType } from '../protocol/compress.js';
import { toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';

/** First seq of the peer-call space (2^63): see the module comment. */
export const PEER_CALL_SEQ_BASE = 1n << 63n;

/** Whether a frame is the reply to a peer call: a Response (not heartbeat) with a seq in [2^63, 2^64). */
export function isPeerCallReply(msg: Message): boolean {
  return msg.messageType === MessageType.Response && !msg.heartbeat && msg.seq >= PEER_CALL_SEQ_BASE;
}

/**
 * Whether a frame a client received is a call from its peer: a Request that is neither oneway
 * (that is a push) nor a heartbeat.
 */
export function isPeerCall(msg: Message): boolean {
  return msg.messageType === MessageType.Request && !msg.heartbeat && !msg.oneway;
}

/** Options of a call to the peer (`ctx.connection.call`); every call has a deadline. */
export interface PeerCallOptions {
  /** Aborts the call (CANCELLED, or TIMEOUT for a `TimeoutError` reason); a late reply is dropped. */
  signal?: AbortSignal;
  /**
   * Deadline in ms (default: the connection's, 30 s). It travels as `__ServerTimeout`. Against a
   * Go client, which never answers, this is how the call ends: TIMEOUT.
   */
  timeoutMs?: number;
  /** Absolute deadline, a `Date` or epoch ms; with `timeoutMs` too, the earlier wins. */
  deadline?: Date | number;
  /** Request metadata. */
  metadata?: MetadataInit;
  /** Serialize type (default MsgPack). */
  serializeType?: number;
  /** Compress type, applied above 1024 bytes (default none). */
  compressType?: number;
  /** Codec options for the args (`{ type }` for protobuf/thrift). */
  argsCodec?: CodecOptions;
  /** Codec options for the reply. */
  replyCodec?: CodecOptions;
}

/** @internal What a {@link PeerCalls} table needs from its connection. */
export interface PeerCallsConfig {
  readonly codecs: CodecRegistry;
  /** Most calls awaiting their reply at once; more fail with LIMIT. */
  readonly maxPending: number;
  /** Default deadline of a call, ms. */
  readonly defaultTimeoutMs: number;
  /** For error texts. */
  readonly peerName: string;
  /** Queues a frame; returns an error if it cannot be queued. */
  send(msg: Message): RpcxError | undefined;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: RpcxError) => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  replyCodec: CodecOptions | undefined;
}

/**
 * @internal The table of calls to the peer on one connection: seqs from {@link PEER_CALL_SEQ_BASE},
 * a timer per call, settled exactly once by the reply, the timer, the signal, or `failAll`.
 */
export class PeerCalls {
  readonly #c: PeerCallsConfig;
  readonly #pending = new Map<bigint, Pending>();
  #seq = PEER_CALL_SEQ_BASE;
  #closedError: RpcxError | undefined;

  constructor(config: PeerCallsConfig) {
    this.#c = config;
  }

  /** Calls awaiting their reply. */
  get size(): number {
    return this.#pending.size;
  }

  call<T>(servicePath: string, serviceMethod: string, args: unknown, options: PeerCallOptions = {}): Promise<T> {
    const c = this.#c;
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    if (this.#pending.size >= c.maxPending) {
      return Promise.reject(new RpcxError(ErrorCode.LIMIT, `more than ${c.maxPending} calls pending to ${c.peerName}`));
    }
    let timeoutMs = options.timeoutMs ?? c.defaultTimeoutMs;
    if (options.deadline !== undefined) {
      const at = typeof options.deadline === 'number' ? options.deadline : options.deadline.getTime();
      if (!Number.isFinite(at)) return Promise.reject(new RpcxError(ErrorCode.INVALID_ARGUMENT, `deadline must be a Date or epoch ms, got ${String(options.deadline)}`));
      timeoutMs = Math.min(options.timeoutMs ?? Infinity, Math.max(1, at - Date.now()));
    }
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new RpcxError(ErrorCode.INVALID_ARGUMENT, `timeoutMs must be a positive finite number, got ${timeoutMs}`));
    }
    const st = options.serializeType ?? SerializeType.MsgPack;
    let payload: Uint8Array;
    try {
      payload = c.codecs.get(st).encode(args, options.argsCodec);
    } catch (err) {
      return Promise.reject(RpcxError.from(err, ErrorCode.CODEC));
    }
    const metadata = toMetadataMap(options.metadata);
    metadata.set(MetaKey.ServerTimeout, String(Math.floor(timeoutMs)));
    const seq = this.#seq;
    // 2^63 calls later the space wraps to its start, which is long free by then.
    this.#seq = seq === (1n << 64n) - 1n ? PEER_CALL_SEQ_BASE : seq + 1n;
    const msg: Message = {
      version: 0,
      messageType: MessageType.Request,
      heartbeat: false,
      oneway: false,
      compressType: clientCompressType(options.compressType ?? CompressType.None, payload.length),
      messageStatusType: MessageStatusType.Normal,
      serializeType: st,
      seq,
      servicePath,
      serviceMethod,
      metadata,
      payload,
    };
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => {
          if (this.#take(seq) === p) p.reject(new RpcxError(ErrorCode.TIMEOUT, `call ${servicePath}.${serviceMethod} to ${c.peerName} timed out after ${timeoutMs} ms`));
        }, timeoutMs),
        signal: options.signal,
        onAbort: undefined,
        replyCodec: options.replyCodec,
      };
      if (options.signal !== undefined) {
        const signal = options.signal;
        p.onAbort = () => {
          if (this.#take(seq) === p) p.reject(abortReason(signal));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#pending.set(seq, p);
      let err: RpcxError | undefined;
      try {
        err = c.send(msg);
      } catch (e) {
        err = RpcxError.from(e, ErrorCode.CODEC);
      }
      if (err !== undefined && this.#take(seq) === p) p.reject(err);
    });
  }

  /**
   * A reply frame (see {@link isPeerCallReply}). Returns false when no call awaits that seq (it
   * timed out, was cancelled, or never existed): the frame is dropped.
   */
  onReply(msg: Message): boolean {
    const p = this.#take(msg.seq);
    if (p === undefined) return false;
    const isError = msg.messageStatusType === MessageStatusType.Error && msg.metadata.size > 0;
    let reply: unknown;
    if (msg.payload.length > 0) {
      const codec = this.#c.codecs.find(msg.serializeType);
      if (codec === undefined) {
        if (!isError) {
          p.reject(new RpcxError(ErrorCode.CODEC, `can not find codec for ${msg.serializeType}`));
          return true;
        }
      } else {
        try {
          reply = codec.decode(msg.payload, p.replyCodec);
        } catch (err) {
          if (!isError) {
            p.reject(RpcxError.from(err, ErrorCode.CODEC));
            return true;
          }
        }
      }
    } else if (msg.serializeType === SerializeType.SerializeNone) {
      reply = new Uint8Array(0);
    }
    if (isError) p.reject(new ServiceError(msg.metadata.get(MetaKey.ServiceError) ?? '', msg.metadata, reply));
    else p.resolve(reply);
    return true;
  }

  /** Fails every call (the connection closed) and refuses new ones with `err`. */
  close(err: RpcxError): void {
    this.#closedError ??= err;
    if (this.#pending.size === 0) return;
    for (const seq of [...this.#pending.keys()]) this.#take(seq)?.reject(err);
  }

  #take(seq: bigint): Pending | undefined {
    const p = this.#pending.get(seq);
    if (p === undefined) return undefined;
    this.#pending.delete(seq);
    clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal!.removeEventListener('abort', p.onAbort);
    return p;
  }
}

function abortReason(signal: AbortSignal): RpcxError {
  const reason: unknown = signal.reason;
  if (reason instanceof RpcxError) return reason;
  if (typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError') {
    return new RpcxError(ErrorCode.TIMEOUT, `call timed out: ${(reason as Error).message}`, { cause: reason });
  }
  return new RpcxError(ErrorCode.CANCELLED, 'call cancelled', { cause: reason });
}
