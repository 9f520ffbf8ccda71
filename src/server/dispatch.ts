import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import type { Codec, CodecOptions } from '../codec/types.js';
import { MessageStatusType, MetaKey } from '../protocol/constants.js';
import { serverReplyCompressType } from '../protocol/compress.js';
import { heartbeatReply } from '../protocol/heartbeat.js';
import { responseFor, type Message } from '../protocol/message.js';
import type { ServerConnection } from './connection.js';
import { isPeerCallReply } from './peer-calls.js';
import { RequestContext, type RawReplyWriter } from './context.js';
import { isReqReachLimit, type PluginContainer } from './plugins.js';
import type { MethodEntry, RawHandler, ServiceRegistry } from './registry.js';
import type { ServerHandle } from './types.js';

/**
 * Go: `Server.AuthFunc(ctx, req, token)`. `token` is the `__AUTH` metadata value (`""` if absent).
 * Throw, reject, or return an `Error` to refuse: the client gets an error reply with its message
 * (unless the request is oneway) and the connection is closed. Heartbeats are not authenticated.
 * A Promise-returning auth pauses reading that connection until it settles (Go runs AuthFunc
 * on the connection's reader goroutine).
 */
export type AuthFunc = (ctx: RequestContext, req: Message, token: string) => void | Error | Promise<void | Error>;

/** @internal What the dispatcher needs from its server. */
export interface DispatchConfig {
  readonly server: ServerHandle;
  readonly registry: ServiceRegistry;
  readonly codecs: CodecRegistry;
  readonly plugins: PluginContainer;
  readonly authFunc: AuthFunc | undefined;
  readonly serverErrorFunc: ((res: Message, err: unknown) => string) | undefined;
  readonly handleServiceError: ((err: unknown) => void) | undefined;
}

const EMPTY = new Uint8Array(0);

/** The text of anything thrown: an Error's message verbatim, else `String(x)`. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

/**
 * Go's `processOneRequest`/`handleRequest`/`sendResponse` (server/server.go) for one connection's
 * frames. Runs on the connection's data events; handlers run concurrently and replies go out in
 * the order handlers finish.
 */
export class Dispatcher implements RawReplyWriter {
  readonly #c: DispatchConfig;

  constructor(config: DispatchConfig) {
    this.#c = config;
  }

  /** One decoded frame from `conn` (Go: the body of `serveConn`'s loop). */
  onMessage(conn: ServerConnection, req: Message): void {
    conn.noteRead();
    if (isPeerCallReply(req)) {
      // The answer to a call this side made to its peer (ctx.connection.call); one for a call
      // that has already timed out, or for a seq never used, is dropped. Other Response frames
      // are dispatched as requests, as Go's server does.
      conn.onPeerReply(req);
      return;
    }
    if (conn.readingStopped) return;
    const plugins = this.#c.plugins;
    if (plugins.postReadRequest.length > 0) {
      let refused: unknown;
      for (const p of plugins.postReadRequest) {
        try {
          const r = p.postReadRequest!(conn, req);
          if (r !== undefined && r !== null) refused = r;
        } catch (err) {
          refused = err ?? new Error(String(err));
        }
        if (refused !== undefined) break;
      }
      if (refused !== undefined) {
        if (isReqReachLimit(refused)) {
          // Go: an error reply (or, oneway, only the PreWriteResponse plugins); the connection stays.
          const ctx = new RequestContext(this.#c.server, conn, req, performance.now(), this);
          if (!req.oneway) {
            const res = responseFor(req);
            this.#setError(res, refused);
            this.#writeResponse(ctx, res, refused);
          } else {
            this.#preWrite(ctx, undefined, refused);
          }
          return;
        }
        this.#c.handleServiceError?.(refused);
        conn.destroy(RpcxError.from(refused, ErrorCode.PROTOCOL));
        return;
      }
    }

    if (req.heartbeat) {
      // Go: heartbeats skip auth; the request itself is echoed with the response bit set.
      for (const p of plugins.heartbeatRequest) {
        try {
          p.heartbeatRequest!(conn, req);
        } catch {
          // Go ignores the Heartbeat plugins' errors.
        }
      }
      conn.send(heartbeatReply(req));
      return;
    }

    const ctx = new RequestContext(this.#c.server, conn, req, performance.now(), this);
    const auth = this.#c.authFunc;
    if (auth !== undefined) {
      let r: unknown;
      try {
        r = auth(ctx, req, req.metadata.get(MetaKey.Auth) ?? '');
      } catch (err) {
        this.#authFailed(ctx, err ?? new Error(String(err)));
        return;
      }
      if (isThenable(r)) {
        // Go authenticates on the reader goroutine: nothing more is read until this settles.
        conn.frames.pauseReading();
        conn.begin();
        r.then(
          (v) => {
            conn.end();
            if (v instanceof Error) {
              this.#authFailed(ctx, v);
              return;
            }
            this.dispatch(ctx);
            conn.frames.resumeReading();
          },
          (err: unknown) => {
            conn.end();
            this.#authFailed(ctx, err ?? new Error(String(err)));
          },
        );
        return;
      }
      if (r instanceof Error) {
        this.#authFailed(ctx, r);
        return;
      }
    }
    this.dispatch(ctx);
  }

  /** Go: auth failed — an error reply unless oneway, then the connection is closed. */
  #authFailed(ctx: RequestContext, err: unknown): void {
    const req = ctx.request;
    if (!req.oneway) {
      const res = responseFor(req);
      this.#setError(res, err);
      this.#writeResponse(ctx, res, err);
    } else {
      this.#preWrite(ctx, undefined, err);
    }
    this.#c.handleServiceError?.(err);
    ctx.connection.close();
  }

  /** Go: `processOneRequest` for a non-heartbeat request that passed auth. */
  dispatch(ctx: RequestContext): void {
    const req = ctx.request;
    const conn = ctx.connection;
    const c = this.#c;
    conn.begin();
    for (const p of c.plugins.preHandleRequest) {
      try {
        p.preHandleRequest!(ctx);
      } catch {
        // Go ignores DoPreHandleRequest's error.
      }
    }

    const raw = c.registry.handlers.get(req.servicePath)?.get(req.serviceMethod);
    if (raw !== undefined) {
      this.#runRaw(ctx, raw);
      return;
    }
    const svc = c.registry.services.get(req.servicePath);
    if (svc === undefined) {
      this.#fail(ctx, new Error(`rpcx: can't find service ${req.servicePath}`));
      return;
    }
    const m = svc.methods.get(req.serviceMethod) ?? svc.functions.get(req.serviceMethod);
    if (m === undefined) {
      this.#fail(ctx, new Error(`rpcx: can't find method ${req.serviceMethod}`));
      return;
    }
    const codec = c.codecs.find(req.serializeType);
    if (codec === undefined) {
      this.#fail(ctx, new Error(`can not find codec for ${req.serializeType}`));
      return;
    }
    let args: unknown;
    try {
      args = codec.decode(req.payload, m.argsType === undefined ? undefined : { type: m.argsType });
    } catch (err) {
      this.#fail(ctx, err);
      return;
    }
    if (c.plugins.preCall.length > 0) {
      try {
        for (const p of c.plugins.preCall) {
          const a = p.preCall!(ctx, req.servicePath, req.serviceMethod, args);
          if (a !== undefined) args = a;
        }
      } catch (err) {
        this.#fail(ctx, err);
        return;
      }
    }
    let out: unknown;
    try {
      out = m.fn.call(m.self, args, ctx);
    } catch (err) {
      this.#done(ctx, m, codec, args, undefined, err ?? new Error(String(err)));
      return;
    }
    if (isThenable(out)) {
      void this.#await(ctx, m, codec, args, out);
      return;
    }
    this.#done(ctx, m, codec, args, out, undefined);
  }

  async #await(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown, p: PromiseLike<unknown>): Promise<void> {
    let reply: unknown;
    try {
      reply = await p;
    } catch (err) {
      this.#done(ctx, m, codec, args, undefined, err ?? new Error(String(err)));
      return;
    }
    this.#done(ctx, m, codec, args, reply, undefined);
  }

  /** The handler finished: Go's tail of `handleRequest` plus the reply write of `processOneRequest`. */
  #done(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown, reply: unknown, err: unknown): void {
    const req = ctx.request;
    const plugins = this.#c.plugins;
    if (plugins.postCall.length > 0) {
      for (const p of plugins.postCall) {
        try {
          const r = p.postCall!(ctx, req.servicePath, req.serviceMethod, args, reply, err);
          if (r !== undefined) reply = r;
        } catch (e) {
          if (err === undefined) err = e ?? new Error(String(e));
          break;
        }
      }
    }
    ctx.finish();
    if (err !== undefined) {
      this.#c.handleServiceError?.(err);
      if (req.oneway) return this.#end(ctx);
      const res = responseFor(req);
      // Go sends the encoded reply with a method error; here a ServiceError's `reply`, if given.
      const errReply = err instanceof ServiceError ? err.reply : undefined;
      if (errReply !== undefined) {
        try {
          res.payload = this.#encode(codec, errReply, m.replyType);
        } catch (encodeErr) {
          err = encodeErr;
        }
      }
      this.#setError(res, err);
      this.#mergeResponseMetadata(ctx, res);
      this.#writeResponse(ctx, res, err);
      return this.#end(ctx);
    }
    if (req.oneway) return this.#end(ctx);
    const res = responseFor(req);
    try {
      res.payload = this.#encode(codec, reply, m.replyType);
    } catch (encodeErr) {
      this.#setError(res, encodeErr);
      this.#mergeResponseMetadata(ctx, res);
      this.#writeResponse(ctx, res, encodeErr);
      return this.#end(ctx);
    }
    this.#mergeResponseMetadata(ctx, res);
    this.#writeResponse(ctx, res, undefined);
    this.#end(ctx);
  }

  #encode(codec: Codec, value: unknown, type: unknown): Uint8Array {
    if (value === undefined) return EMPTY;
    return codec.encode(value, type === undefined ? undefined : { type });
  }

  /** A dispatch error before the handler ran (unknown service/method/codec, bad args, PreCall). */
  #fail(ctx: RequestContext, err: unknown): void {
    ctx.finish();
    this.#c.handleServiceError?.(err);
    if (!ctx.request.oneway) {
      const res = responseFor(ctx.request);
      this.#setError(res, err);
      this.#mergeResponseMetadata(ctx, res);
      this.#writeResponse(ctx, res, err);
    }
    this.#end(ctx);
  }

  #end(ctx: RequestContext): void {
    ctx.connection.end();
  }

  /** Go: `handleError` — status Error and `__rpcx_error__` = the text (or `ServerErrorFunc`'s). */
  #setError(res: Message, err: unknown): void {
    res.messageStatusType = MessageStatusType.Error;
    const f = this.#c.serverErrorFunc;
    res.metadata.set(MetaKey.ServiceError, f !== undefined ? f(res, err) : errorText(err));
  }

  /** Go: response metadata from the handler; on an error reply it never replaces a non-empty entry. */
  #mergeResponseMetadata(ctx: RequestContext, res: Message): void {
    const rm = ctx.responseMetadataIfAny;
    if (rm === undefined || rm.size === 0) return;
    if (res.metadata.size === 0) {
      res.metadata = rm;
      return;
    }
    for (const [k, v] of rm) {
      if ((res.metadata.get(k) ?? '') === '') res.metadata.set(k, v);
    }
  }

  #preWrite(ctx: RequestContext, res: Message | undefined, err: unknown): void {
    for (const p of this.#c.plugins.preWriteResponse) {
      try {
        p.preWriteResponse!(ctx, res, err);
      } catch {
        // Go ignores DoPreWriteResponse's error.
      }
    }
  }

  /** Go: `sendResponse` — gzip only if the request was compressed and the reply > 1024 bytes. */
  #writeResponse(ctx: RequestContext, res: Message, err: unknown): void {
    res.compressType = serverReplyCompressType(ctx.request.compressType, res.payload.length);
    const plugins = this.#c.plugins;
    if (plugins.preWriteResponse.length > 0) this.#preWrite(ctx, res, err);
    if (plugins.postWriteResponse.length === 0) {
      ctx.connection.send(res);
      return;
    }
    ctx.connection.send(res, (writeErr) => {
      for (const p of plugins.postWriteResponse) {
        try {
          p.postWriteResponse!(ctx, res, err, writeErr);
        } catch {
          // Go ignores DoPostWriteResponse's error.
        }
      }
    });
  }

  // ---- raw handlers (Go: server.Context) ----

  #runRaw(ctx: RequestContext, h: RawHandler): void {
    ctx.raw = true;
    let out: unknown;
    try {
      out = h(ctx);
    } catch (err) {
      this.#rawDone(ctx, err ?? new Error(String(err)));
      return;
    }
    if (isThenable(out)) {
      void this.#awaitRaw(ctx, out);
      return;
    }
    this.#rawDone(ctx, undefined);
  }

  async #awaitRaw(ctx: RequestContext, p: PromiseLike<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      this.#rawDone(ctx, err ?? new Error(String(err)));
      return;
    }
    this.#rawDone(ctx, undefined);
  }

  #rawDone(ctx: RequestContext, err: unknown): void {
    if (err !== undefined) {
      this.#c.handleServiceError?.(err);
      try {
        this.writeError(ctx, err);
      } catch {
        // Go: WriteError fails silently for an unknown codec.
      }
    }
    ctx.finish();
    this.#end(ctx);
  }

  /** @internal `ctx.bind()`. */
  bind(ctx: RequestContext, options: CodecOptions | undefined): unknown {
    const st = ctx.request.serializeType;
    const codec = this.#c.codecs.find(st);
    if (codec === undefined) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${st}`);
    return codec.decode(ctx.request.payload, options);
  }

  /** @internal `ctx.write(value)` (Go: `Context.Write`). */
  write(ctx: RequestContext, value: unknown, options: CodecOptions | undefined): void {
    const req = ctx.request;
    if (req.oneway) return;
    const codec = this.#c.codecs.find(req.serializeType);
    if (codec === undefined) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${req.serializeType}`);
    const res = responseFor(req);
    if (value !== undefined && value !== null) res.payload = codec.encode(value, options);
    const rm = ctx.responseMetadataIfAny;
    if (rm !== undefined && rm.size > 0) res.metadata = new Map(rm);
    this.#writeResponse(ctx, res, undefined);
  }

  /** @internal `ctx.writeError(err)` (Go: `Context.WriteError`: the text replaces any `__rpcx_error__`). */
  writeError(ctx: RequestContext, err: unknown): void {
    const req = ctx.request;
    if (req.oneway) return;
    if (!this.#c.codecs.has(req.serializeType)) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${req.serializeType}`);
    const res = responseFor(req);
    const rm = ctx.responseMetadataIfAny;
    if (rm !== undefined && rm.size > 0) res.metadata = new Map(rm);
    res.messageStatusType = MessageStatusType.Error;
    res.metadata.set(MetaKey.ServiceError, errorText(err));
    this.#writeResponse(ctx, res, err);
  }
}
