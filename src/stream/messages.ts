// The typed message-stream API on both ends: `openStream` for callers (gRPC's Send/Recv/
// CloseSend, go-micro's Stream), `streamRouter` for servers (handlers as `async function*
// (incoming, ctx)`, connect-es style). See docs/streams.md.
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import type { Codec } from '../codec/types.js';
import type { CodecRegistry } from '../codec/registry.js';
import { SerializeType } from '../protocol/constants.js';
import type { MetadataInit } from '../protocol/message.js';
import { openSocket, type StreamOptions, type TokenCaller } from './client.js';
import { MessageChannel, StreamMetaKey } from './message-stream.js';
import { socketTransport, type Transport } from './transport.js';
import type { StreamConnectionInfo, StreamHandler } from './service.js';
import type { StreamServiceArgs } from './wire.js';

const log = createDebug('rpcx:server');

/** Options of `openStream`. */
export interface OpenStreamOptions extends StreamOptions {
  /** The messages' codec: a serialize type (`SerializeType.JSON`, ...) or a codec. Default MsgPack. */
  codec?: number | Codec;
  /** Metadata of the `Stream` call (arrives as the handler's `ctx.metadata`). */
  metadata?: MetadataInit;
  /** Largest incoming frame body; default 64 MiB. */
  maxMessageLength?: number;
  /** protobuf/thrift type of the messages sent. */
  sendType?: unknown;
  /** protobuf/thrift type of the messages received. */
  receiveType?: unknown;
}

/**
 * A caller's message stream (gRPC: a bidi `ClientStream`; go-micro: `client.Stream`). Iterate it
 * for the server's messages (gRPC `Recv`): the loop ends at the server's end-of-stream and throws
 * a `ServiceError` with the handler's text if it failed.
 */
export interface MessageStream<Req, Res> extends AsyncIterable<Res> {
  /** gRPC `Send`: resolves when written; awaiting it in a loop respects the server's pace. */
  send(msg: Req): Promise<void>;
  /** gRPC `CloseSend`: the half-close; the server's iterator ends. */
  end(): Promise<void>;
  /** Ends both directions at once (the server's handler sees its signal abort). */
  abort(reason?: unknown): void;
  /** Resolves when the connection is gone. */
  readonly closed: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function resolveCodec(codec: number | Codec | undefined, codecs: CodecRegistry): Codec {
  if (codec === undefined) return codecs.get(SerializeType.MsgPack);
  if (typeof codec === 'number') return codecs.get(codec);
  return codec;
}

function abortReason(reason: unknown): RpcxError {
  if (reason instanceof RpcxError) return reason;
  return new RpcxError(ErrorCode.CANCELLED, 'stream aborted', { cause: reason });
}

/** Wraps a channel as the public {@link MessageStream}; `signal` aborts it. */
function toMessageStream<Req, Res>(ch: MessageChannel<Req, Res>, signal: AbortSignal | undefined): MessageStream<Req, Res> {
  const closed = ch.transport.closed.then(() => undefined);
  if (signal !== undefined) {
    const onAbort = (): void => ch.abort(abortReason(signal.reason));
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      void closed.then(() => signal.removeEventListener('abort', onAbort));
    }
  }
  return {
    send: (msg) => ch.send(msg),
    end: () => ch.end(),
    abort: (reason) => ch.abort(abortReason(reason)),
    closed,
    [Symbol.asyncIterator]: () => ch[Symbol.asyncIterator](),
    [Symbol.asyncDispose]: async () => {
      ch.abort(new RpcxError(ErrorCode.CANCELLED, 'stream disposed'));
      await closed;
    },
  };
}

/**
 * @internal Opens a message stream to `servicePath.method`: a `Stream` call whose Meta names
 * the handler (`__rpcx_stream_path`, `__rpcx_stream_method`, `__rpcx_stream_serialize`), then
 * frames over the side connection.
 */
export async function openMessageStream<Req, Res>(call: TokenCaller, defaultSt: number, codecs: CodecRegistry, servicePath: string, method: string, options: OpenStreamOptions = {}): Promise<MessageStream<Req, Res>> {
  const codec = resolveCodec(options.codec, codecs);
  const meta = new Map<string, string>();
  if (options.metadata !== undefined) {
    for (const [k, v] of options.metadata instanceof Map ? options.metadata : Object.entries(options.metadata)) meta.set(k, v);
  }
  meta.set(StreamMetaKey.Path, servicePath);
  meta.set(StreamMetaKey.Method, method);
  meta.set(StreamMetaKey.Serialize, String(codec.serializeType));
  const socket = await openSocket(call, defaultSt, meta, options);
  const ch = new MessageChannel<Req, Res>(socketTransport(socket), 'client', servicePath, method, codec, {
    ...(options.maxMessageLength === undefined ? {} : { maxMessageLength: options.maxMessageLength }),
    sendType: options.sendType,
    receiveType: options.receiveType,
  });
  return toMessageStream(ch, options.signal);
}

/** What a stream handler gets besides the incoming messages. */
export interface StreamHandlerContext {
  readonly servicePath: string;
  readonly serviceMethod: string;
  /** The `Stream` call's metadata (the stream's own keys removed). */
  readonly metadata: Map<string, string>;
  /** Aborted when the caller aborts, the connection breaks, or the server closes. */
  readonly signal: AbortSignal;
  readonly remoteAddress: string;
}

/**
 * A message-stream handler (connect-es style): `incoming` yields the caller's messages until its
 * close-send; what the handler yields is sent, one frame each, paced by the caller's reading.
 * Returning ends the stream (half-close); throwing sends the error's message as the stream's
 * error, exactly the text a Go caller reads. Covers bidirectional (read and yield), server-
 * streaming (read one, yield many) and client-streaming (read all, yield one) shapes.
 */
export type MessageStreamHandler<In = any, Out = unknown> = (incoming: AsyncIterable<In>, ctx: StreamHandlerContext) => AsyncIterable<Out>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A handler with codec types for protobuf/thrift messages. */
export interface MessageStreamRoute {
  handler: MessageStreamHandler;
  /** protobuf/thrift type of the incoming messages. */
  receiveType?: unknown;
  /** protobuf/thrift type of the outgoing messages. */
  sendType?: unknown;
}

/** Handlers by service path, then method. */
export type MessageStreamRoutes = Readonly<Record<string, Readonly<Record<string, MessageStreamHandler | MessageStreamRoute>>>>;

/** Options of {@link streamRouter}. */
export interface StreamRouterOptions {
  /** Codecs by serialize type (default: the server's defaults: JSON, MsgPack, raw). */
  codecs: CodecRegistry;
  /** Raw byte streams (no `__rpcx_stream_path` in Meta) go here; without it they are closed. */
  fallback?: StreamHandler;
  /** Largest incoming frame body; default 64 MiB. */
  maxMessageLength?: number;
}

/** Go's texts for a missing service or method. */
function notFound(path: string, method: string, routes: MessageStreamRoutes): string {
  if (!Object.hasOwn(routes, path)) return `rpcx: can't find service ${path}`;
  return `rpcx: can't find method ${method}`;
}

/**
 * Makes the stream service's handler from message-stream routes: pass it to
 * `server.enableStreamService(streamRouter(routes, { codecs: server.codecs }))`.
 */
export function streamRouter(routes: MessageStreamRoutes, options: StreamRouterOptions): StreamHandler {
  return (stream: Duplex, args: StreamServiceArgs, info: StreamConnectionInfo) => {
    if (!args.meta.has(StreamMetaKey.Path)) {
      if (options.fallback !== undefined) return options.fallback(stream, args, info);
      stream.destroy();
      return;
    }
    return serveTransport(socketTransport(stream), args.meta, routes, options, info.remoteAddress);
  };
}

/**
 * Serves one message stream over any {@link Transport} (the seam: a socket, or an in-memory
 * pair): `meta` is the `Stream` call's Meta, naming the route. Resolves when the stream is over.
 */
export function serveTransport(transport: Transport, meta: ReadonlyMap<string, string>, routes: MessageStreamRoutes, options: StreamRouterOptions, remoteAddress = transport.remoteAddress): Promise<void> {
  const path = meta.get(StreamMetaKey.Path) ?? '';
  const method = meta.get(StreamMetaKey.Method) ?? '';
  const stText = meta.get(StreamMetaKey.Serialize);
  const st = stText === undefined ? SerializeType.MsgPack : Number(stText);
  const codec = Number.isInteger(st) ? options.codecs.find(st) : undefined;
  const route = Object.hasOwn(routes, path) && Object.hasOwn(routes[path]!, method) ? routes[path]![method]! : undefined;
  const fallbackCodec: Codec = codec ?? { serializeType: Number.isInteger(st) && st >= 0 && st < 16 ? st : 0, name: 'none', encode: () => new Uint8Array(0), decode: () => undefined };
  const r = typeof route === 'function' ? { handler: route } : route;
  const ch = new MessageChannel<unknown, unknown>(transport, 'server', path, method, fallbackCodec, {
    ...(options.maxMessageLength === undefined ? {} : { maxMessageLength: options.maxMessageLength }),
    sendType: r?.sendType,
    receiveType: r?.receiveType,
  });
  if (codec === undefined) return serveError(ch, `can not find codec for ${stText}`);
  if (r === undefined) return serveError(ch, notFound(path, method, routes));
  const metadata = new Map(meta);
  metadata.delete(StreamMetaKey.Path);
  metadata.delete(StreamMetaKey.Method);
  metadata.delete(StreamMetaKey.Serialize);
  return serve(ch, r.handler, { servicePath: path, serviceMethod: method, metadata, remoteAddress });
}

/**
 * A caller's message stream over any {@link Transport} whose peer serves `servicePath.method`
 * (for in-memory pairs and other transports; `openStream` does this over the side connection).
 */
export function messageStreamOver<Req, Res>(transport: Transport, servicePath: string, method: string, codec: Codec, options: Pick<OpenStreamOptions, 'signal' | 'maxMessageLength' | 'sendType' | 'receiveType'> = {}): MessageStream<Req, Res> {
  const ch = new MessageChannel<Req, Res>(transport, 'client', servicePath, method, codec, {
    ...(options.maxMessageLength === undefined ? {} : { maxMessageLength: options.maxMessageLength }),
    sendType: options.sendType,
    receiveType: options.receiveType,
  });
  return toMessageStream(ch, options.signal);
}

/** Sends `text` as the stream's error, then waits for the caller's half-close and closes. */
async function serveError(ch: MessageChannel<unknown, unknown>, text: string): Promise<void> {
  await ch.endWithError(text).catch(() => undefined);
  await drainAndClose(ch.transport);
}

/** After our half-close: read (and drop) until the caller's, bounded in time, then close. */
async function drainAndClose(t: Transport): Promise<void> {
  const timer = setTimeout(() => t.close(), 30_000);
  try {
    for await (const _ of t) {
      // the caller may still be sending: drop it
    }
  } catch {
    // already broken
  } finally {
    clearTimeout(timer);
    t.close();
  }
}

async function serve(ch: MessageChannel<unknown, unknown>, handler: MessageStreamHandler, base: Omit<StreamHandlerContext, 'signal'>): Promise<void> {
  const ac = new AbortController();
  void ch.transport.closed.then((err) => ac.abort(err ?? new RpcxError(ErrorCode.CANCELLED, 'stream closed')));
  const ctx: StreamHandlerContext = { ...base, signal: ac.signal };
  // The handler's view of the incoming messages: a caller that aborts surfaces as CANCELLED.
  const incoming: AsyncIterable<unknown> = {
    [Symbol.asyncIterator]: () => {
      const it = ch[Symbol.asyncIterator]();
      return {
        next: async () => {
          try {
            return await it.next();
          } catch (err) {
            const e = RpcxError.from(err, ErrorCode.PROTOCOL);
            throw e.code === ErrorCode.CONNECTION ? new RpcxError(ErrorCode.CANCELLED, `stream cancelled by the caller: ${e.message}`, { cause: e }) : e;
          }
        },
        return: async () => {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
  let out: AsyncIterator<unknown> | undefined;
  try {
    out = handler(incoming, ctx)[Symbol.asyncIterator]();
    for (;;) {
      const r = await out.next();
      if (r.done === true) break;
      await ch.send(r.value);
    }
    await ch.end();
  } catch (err) {
    if (out !== undefined) void Promise.resolve(out.return?.()).catch(() => undefined);
    if (ac.signal.aborted || (err instanceof RpcxError && (err.code === ErrorCode.CONNECTION || err.code === ErrorCode.CANCELLED))) {
      if (log.enabled) log('stream %s.%s ended: %s', base.servicePath, base.serviceMethod, (err as Error).message);
      ch.transport.close();
      return;
    }
    // Go sends err.Error(): the message verbatim.
    const text = err instanceof Error ? err.message : String(err);
    await ch.endWithError(text).catch(() => undefined);
  }
  await drainAndClose(ch.transport);
}
