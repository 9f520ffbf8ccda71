import { ErrorCode, RpcxError } from '../errors.js';
import { MetaKey } from '../protocol/constants.js';
import type { Message } from '../protocol/message.js';
import type { CodecOptions } from '../codec/types.js';
import { contextCanceled, type ServerConnection } from './connection.js';
import type { ServerHandle } from './types.js';

export { contextCanceled };

/** @internal What a raw handler's `bind`/`write`/`writeError` delegate to (implemented by the dispatcher). */
export interface RawReplyWriter {
  bind(ctx: RequestContext, options: CodecOptions | undefined): unknown;
  write(ctx: RequestContext, value: unknown, options: CodecOptions | undefined): void;
  writeError(ctx: RequestContext, err: unknown): void;
}

/** The reason `ctx.signal` aborts with when the `__ServerTimeout` deadline passes (Go: `context.DeadlineExceeded`). */
export function deadlineExceeded(): RpcxError {
  return new RpcxError(ErrorCode.TIMEOUT, 'context deadline exceeded');
}

/**
 * Go's `parseServerTimeout` (server/server.go): `__ServerTimeout` as a decimal int64 of
 * milliseconds (`strconv.ParseInt(s, 10, 64)`: optional sign, digits only); anything else means
 * no deadline. 0 or negative gives a deadline that has already passed.
 */
export function parseServerTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[+-]?[0-9]{1,19}$/.test(value)) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) return undefined;
  const big = BigInt(value);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  return n;
}

/**
 * What a handler gets with its arguments (Go: the `context.Context` of a service method, with
 * `share.ReqMetaDataKey`, `share.ResMetaDataKey` and `server.RemoteConnContextKey` in it).
 *
 * `signal` is created on first use: a handler that never looks at it costs no `AbortController`
 * and no timer. It aborts when the `__ServerTimeout` deadline passes (reason: `RpcxError`
 * `TIMEOUT`, text `context deadline exceeded`, Go's `ctx.Err()`), or when the connection or the
 * server closes (reason: `RpcxError` `CANCELLED`, `context canceled`).
 */
export class RequestContext {
  /** The request as decoded (path, method, seq, flags, metadata, payload). */
  readonly request: Message;
  /** The connection the request came on: pass it to `server.sendMessage` to push to this client. */
  readonly connection: ServerConnection;
  /** The server (its pushes, address and connections); an `RpcxServer`. */
  readonly server: ServerHandle;
  /** Absolute deadline (ms since the epoch, like `Date.now()`) from `__ServerTimeout`, if sent. */
  readonly deadline: number | undefined;
  /** `performance.now()` when the request was read (Go: `StartRequestContextKey`). */
  readonly startedAt: number;
  /** Free for plugins and handlers to share values (Go: `share.Context.SetValue`). */
  values: Map<unknown, unknown> | undefined;

  readonly #writer: RawReplyWriter;
  /** @internal Set by the dispatcher for raw handlers (they may call bind/write/writeError). */
  raw = false;
  #responseMetadata: Map<string, string> | undefined;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the reply is decided: the signal is then no longer tied to the deadline. */
  #done = false;
  /** @internal The connection's slot for this context while its signal is tracked, else -1. */
  trackSlot = -1;

  constructor(server: ServerHandle, connection: ServerConnection, request: Message, startedAt: number, writer: RawReplyWriter) {
    this.server = server;
    this.#writer = writer;
    this.connection = connection;
    this.request = request;
    this.startedAt = startedAt;
    const st = request.metadata.size === 0 ? undefined : request.metadata.get(MetaKey.ServerTimeout);
    const ms = st === undefined ? undefined : parseServerTimeout(st);
    this.deadline = ms === undefined ? undefined : Date.now() + ms;
  }

  /** Request metadata (Go: `ctx.Value(share.ReqMetaDataKey)`). Not echoed in the reply. */
  get metadata(): Map<string, string> {
    return this.request.metadata;
  }

  get servicePath(): string {
    return this.request.servicePath;
  }

  get serviceMethod(): string {
    return this.request.serviceMethod;
  }

  /** `host:port` (or the socket path) of the client. */
  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** Response metadata the reply will carry (Go: `ctx.Value(share.ResMetaDataKey)`); created on first use. */
  get responseMetadata(): Map<string, string> {
    return (this.#responseMetadata ??= new Map());
  }

  /** Sets one response metadata entry. */
  setResponseMetadata(key: string, value: string): void {
    this.responseMetadata.set(key, value);
  }

  /** @internal The response metadata if any was set, without creating it. */
  get responseMetadataIfAny(): Map<string, string> | undefined {
    return this.#responseMetadata;
  }

  /** Milliseconds left until the deadline (negative when passed), or `undefined` without one. */
  get remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  /** Aborted at the deadline or when the connection closes; see the class comment. */
  get signal(): AbortSignal {
    if (this.#controller !== undefined) return this.#controller.signal;
    const c = new AbortController();
    this.#controller = c;
    if (!this.connection.isOpen) {
      c.abort(contextCanceled());
      return c.signal;
    }
    if (this.deadline !== undefined && !this.#done) {
      const left = this.deadline - Date.now();
      if (left <= 0) {
        c.abort(deadlineExceeded());
        return c.signal;
      }
      this.#timer = setTimeout(() => c.abort(deadlineExceeded()), left);
    }
    if (!this.#done) this.connection.track(this);
    return c.signal;
  }

  /**
   * Raw handlers only (Go: `server.Context.Bind`): decodes the payload with the request's codec;
   * `type` is the protobuf/thrift schema. Throws `can not find codec for <n>` for an unknown codec.
   */
  bind<T = unknown>(type?: unknown): T {
    this.#checkRaw('bind');
    return this.#writer.bind(this, type === undefined ? undefined : { type }) as T;
  }

  /**
   * Raw handlers only (Go: `server.Context.Write`): encodes `value` with the request's codec and
   * writes the reply (response metadata included; gzip by Go's rule). Nothing for a oneway
   * request. `undefined` gives an empty payload.
   */
  write(value?: unknown, type?: unknown): void {
    this.#checkRaw('write');
    this.#writer.write(this, value, type === undefined ? undefined : { type });
  }

  /** Raw handlers only (Go: `server.Context.WriteError`): an error reply with `err`'s message. Nothing for oneway. */
  writeError(err: unknown): void {
    this.#checkRaw('writeError');
    this.#writer.writeError(this, err);
  }

  #checkRaw(what: string): void {
    if (!this.raw) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `ctx.${what}() is for raw handlers (addHandler); a service method returns its reply`);
  }

  /** @internal Called by the connection when it closes. */
  cancel(reason: RpcxError): void {
    if (this.#controller !== undefined && !this.#controller.signal.aborted) this.#controller.abort(reason);
    this.#clearTimer();
  }

  /** @internal Called when the handler has finished: releases the timer and the connection's reference. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#controller !== undefined) {
      this.#clearTimer();
      this.connection.untrack(this);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
