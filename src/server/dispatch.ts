import createDebug from 'debug';
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import { goSprintV } from '../client/gofmt.js';
import type { CodecRegistry } from '../codec/registry.js';
import type { Codec, CodecOptions } from '../codec/types.js';
import { MessageStatusType, MetaKey } from '../protocol/constants.js';
import { serverReplyCompressType } from '../protocol/compress.js';
import { heartbeatReply } from '../protocol/heartbeat.js';
import { responseFor, type Message } from '../protocol/message.js';
import type { ServerConnection } from './connection.js';
import { isPeerCallReply } from './peer-calls.js';
import { RequestContext, type RawReplyWriter } from './context.js';
import { isReqReachLimit, runAround, type PluginContainer } from './plugins.js';
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
  /** Put the JS stack into `[service internal error]` texts (default true, as Go). */
  readonly internalErrorStack?: boolean | undefined;
}

const log = createDebug('rpcx:server');

/**
 * Whether a handler's exception is the JavaScript analogue of a Go panic: a runtime error the
 * engine raised (`TypeError`, `ReferenceError`, `RangeError`), as opposed to an error the
 * handler chose to throw (`Error`, `ServiceError`, `RpcxError`, anything else).
 */
export function isRuntimeError(err: unknown): err is Error {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError;
}

/** Go's `runtime.Stack(buf, false)` buffer size in `service.call`: the stack is cut there. */
const STACK_BYTES = 4096;
/** Args whose payload is larger are not rendered (Go renders any size). */
const MAX_ARGV_PAYLOAD = 64 * 1024;

/**
 * A handler crashed with a runtime error (Go: `server.RpcServiceInternalError`, what Go's
 * `service.call` makes of a recovered panic). Its message is Go's text:
 * `[service internal error]: <panic value>, method: <Method>, argv: <args %+v>, stack: <stack>`,
 * with `<panic value>` = `<name>: <message>` of the JS error and `<stack>` its stack frames.
 * `cause` is the original error.
 */
export class ServiceInternalError extends RpcxError {
  /** Go `Err`: the panic value as text. */
  readonly err: string;
  /** Go `Method`: the method name (for a function Go prints `&{{}}`, and so does this). */
  readonly method: string;
  /** Go `Argv`: the decoded args. */
  readonly argv: unknown;
  /** The stack text sent after `stack:` (empty when the server leaves it out). */
  readonly panicStack: string;

  constructor(err: string, method: string, argv: unknown, argvText: string, panicStack: string, cause: unknown) {
    super(ErrorCode.INTERNAL, `[service internal error]: ${err}, method: ${method}, argv: ${argvText}, stack: ${panicStack}`, { cause });
    this.err = err;
    this.method = method;
    this.argv = argv;
    this.panicStack = panicStack;
  }

  override get name(): string {
    return 'ServiceInternalError';
  }
}

/** The panic value of a runtime error as Go's `%v` would show it: `TypeError: msg`. */
function panicValue(err: Error): string {
  return `${err.name}: ${err.message}`;
}

/** The stack frames of `err` (its `stack` without the `Name: message` header), cut at 4096 bytes as Go's buffer. */
function stackOf(err: Error): string {
  let st = typeof err.stack === 'string' ? err.stack : '';
  const head = `${err.name}: ${err.message}`;
  if (st.startsWith(head)) st = st.slice(head.length).replace(/^\n/, '');
  const b = Buffer.from(st, 'utf8');
  return b.length <= STACK_BYTES ? st : b.subarray(0, STACK_BYTES).toString('utf8');
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
    if (this.#c.plugins.postReadRequest.length > 0 && !this.#postRead(conn, req, 0)) return;
    this.#afterRead(conn, req);
  }

  /**
   * The `postReadRequest` hooks from `start`: true when all passed synchronously; false when
   * the request was refused (handled here) or a hook returned a Promise. Go runs these hooks on
   * the connection's reader goroutine, so a hook that waits (Go's blocking rate limiter) holds
   * that connection's reading: here too, reading pauses until the Promise settles (requests
   * already read go on), then the remaining hooks and the request continue.
   */
  #postRead(conn: ServerConnection, req: Message, start: number): boolean {
    const hooks = this.#c.plugins.postReadRequest;
    for (let i = start; i < hooks.length; i++) {
      let r: unknown;
      try {
        r = hooks[i]!.postReadRequest!(conn, req);
      } catch (err) {
        this.#refuse(conn, req, err ?? new Error(String(err)));
        return false;
      }
      if (r === undefined || r === null) continue;
      if (isThenable(r)) {
        conn.frames.pauseReading();
        conn.begin();
        r.then(
          (v) => {
            if (v !== undefined && v !== null) this.#refuse(conn, req, v);
            else if (this.#postRead(conn, req, i + 1)) this.#afterRead(conn, req);
            conn.end();
            conn.frames.resumeReading();
          },
          (err: unknown) => {
            this.#refuse(conn, req, err ?? new Error(String(err)));
            conn.end();
            conn.frames.resumeReading();
          },
        );
        return false;
      }
      this.#refuse(conn, req, r);
      return false;
    }
    return true;
  }

  /** A `postReadRequest` hook refused `req`. */
  #refuse(conn: ServerConnection, req: Message, refused: unknown): void {
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
  }

  /** After the `postReadRequest` hooks: heartbeat echo, auth, dispatch. */
  #afterRead(conn: ServerConnection, req: Message): void {
    const plugins = this.#c.plugins;
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
    ctx.connection.begin();
    if (this.#c.plugins.preHandleRequest.length > 0 && !this.#preHandle(ctx, 0)) return;
    this.#route(ctx);
  }

  /**
   * The `preHandleRequest` hooks from `start` (their errors are ignored, as Go's); false when
   * one returned a Promise: this request waits for it (the connection's others do not), then
   * goes on.
   */
  #preHandle(ctx: RequestContext, start: number): boolean {
    const hooks = this.#c.plugins.preHandleRequest;
    for (let i = start; i < hooks.length; i++) {
      let r: unknown;
      try {
        r = hooks[i]!.preHandleRequest!(ctx);
      } catch {
        // Go ignores DoPreHandleRequest's error.
        continue;
      }
      if (isThenable(r)) {
        const next = (): void => {
          if (this.#preHandle(ctx, i + 1)) this.#route(ctx);
        };
        r.then(next, next);
        return false;
      }
    }
    return true;
  }

  /** Go's lookup (raw handler, method, function), codec, args; then the `preCall` hooks and the call. */
  #route(ctx: RequestContext): void {
    const req = ctx.request;
    const c = this.#c;
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
      this.#preCall(ctx, m, codec, args, 0);
      return;
    }
    this.#invoke(ctx, m, codec, args);
  }

  /**
   * The `preCall` hooks from `start`, then the call. A hook returning a Promise pauses this
   * request until it settles (its value replaces the args unless `undefined`; a rejection fails
   * the call); the connection's other requests go on.
   */
  #preCall(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown, start: number): void {
    const hooks = this.#c.plugins.preCall;
    const req = ctx.request;
    for (let i = start; i < hooks.length; i++) {
      let a: unknown;
      try {
        a = hooks[i]!.preCall!(ctx, req.servicePath, req.serviceMethod, args);
      } catch (err) {
        this.#fail(ctx, err);
        return;
      }
      if (isThenable(a)) {
        a.then(
          (v) => this.#preCall(ctx, m, codec, v === undefined ? args : v, i + 1),
          (err: unknown) => this.#fail(ctx, err ?? new Error(String(err))),
        );
        return;
      }
      if (a !== undefined) args = a;
    }
    this.#invoke(ctx, m, codec, args);
  }

  /** Runs the method or function. */
  #invoke(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown): void {
    let out: unknown;
    try {
      const around = this.#c.plugins.aroundCall;
      out = around.length === 0 ? m.fn.call(m.self, args, ctx) : runAround(around, ctx, () => m.fn.call(m.self, args, ctx));
    } catch (err) {
      this.#done(ctx, m, codec, args, undefined, this.#recovered(ctx, m, args, err ?? new Error(String(err))));
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
      this.#done(ctx, m, codec, args, undefined, this.#recovered(ctx, m, args, err ?? new Error(String(err))));
      return;
    }
    this.#done(ctx, m, codec, args, reply, undefined);
  }

  /**
   * Go's `service.call` recover: a runtime error becomes a {@link ServiceInternalError} (logged
   * on `rpcx:server`, as Go's `log.Error(err)`); any other thrown value is kept as it is.
   */
  #recovered(ctx: RequestContext, m: MethodEntry, args: unknown, err: unknown): unknown {
    if (!isRuntimeError(err)) return err;
    const payloadLength = ctx.request.payload.length;
    let argvText: string;
    try {
      argvText = payloadLength > MAX_ARGV_PAYLOAD ? `(${payloadLength} bytes of args)` : goSprintV(args, { pointer: true, plus: true });
    } catch {
      argvText = '?';
    }
    const method = m.self === undefined ? '&{{}}' : m.name;
    const stack = this.#c.internalErrorStack === false ? '' : stackOf(err);
    const wrapped = new ServiceInternalError(panicValue(err), method, args, argvText, stack, err);
    log('%s.%s: %s', ctx.request.servicePath, ctx.request.serviceMethod, wrapped.message);
    return wrapped;
  }

  /** The handler finished: Go's tail of `handleRequest` plus the reply write of `processOneRequest`. */
  #done(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown, reply: unknown, err: unknown): void {
    if (this.#c.plugins.postCall.length > 0) {
      this.#postCall(ctx, m, codec, args, reply, err, 0);
      return;
    }
    this.#reply(ctx, m, codec, reply, err);
  }

  /**
   * The `postCall` hooks from `start`, then the reply. A hook returning a Promise pauses this
   * request's reply until it settles (a value replaces the reply unless `undefined`; a rejection
   * is the call's error, as a throw).
   */
  #postCall(ctx: RequestContext, m: MethodEntry, codec: Codec, args: unknown, reply: unknown, err: unknown, start: number): void {
    const hooks = this.#c.plugins.postCall;
    const req = ctx.request;
    for (let i = start; i < hooks.length; i++) {
      let r: unknown;
      try {
        r = hooks[i]!.postCall!(ctx, req.servicePath, req.serviceMethod, args, reply, err);
      } catch (e) {
        if (err === undefined) err = e ?? new Error(String(e));
        break;
      }
      if (isThenable(r)) {
        r.then(
          (v) => this.#postCall(ctx, m, codec, args, v === undefined ? reply : v, err, i + 1),
          (e: unknown) => this.#reply(ctx, m, codec, reply, err === undefined ? (e ?? new Error(String(e))) : err),
        );
        return;
      }
      if (r !== undefined) reply = r;
    }
    this.#reply(ctx, m, codec, reply, err);
  }

  /** Writes the reply or the error (Go: the tail of `handleRequest` and `processOneRequest`). */
  #reply(ctx: RequestContext, m: MethodEntry, codec: Codec, reply: unknown, err: unknown): void {
    const req = ctx.request;
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
      const around = this.#c.plugins.aroundCall;
      out = around.length === 0 ? h(ctx) : runAround(around, ctx, () => h(ctx));
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
      if (isRuntimeError(err)) {
        // Go's processOneRequest recover: logged, and `WriteError(fmt.Errorf("%v", r))`.
        log('[handler internal error]: servicepath: %s, servicemethod: %s, err: %s', ctx.request.servicePath, ctx.request.serviceMethod, err.stack);
        err = new RpcxError(ErrorCode.INTERNAL, panicValue(err), { cause: err });
      }
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
