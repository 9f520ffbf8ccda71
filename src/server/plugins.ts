import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import type { ServerConnection } from './connection.js';
import type { RequestContext } from './context.js';

/**
 * Go's `server.ErrReqReachLimit`. A `postReadRequest` hook that throws (or returns) this error
 * makes the server answer `request reached rate limit` and keep the connection, as Go does;
 * any other error from that hook closes the connection without a reply.
 */
export const ErrReqReachLimit: RpcxError = new RpcxError(ErrorCode.LIMIT, 'request reached rate limit');

/** Whether `err` is (or wraps, through `cause`) {@link ErrReqReachLimit} (Go: `errors.Is`). */
export function isReqReachLimit(err: unknown): boolean {
  for (let e = err, i = 0; e !== undefined && e !== null && i < 16; e = (e as { cause?: unknown }).cause, i++) {
    if (e === ErrReqReachLimit) return true;
  }
  return false;
}

/**
 * A server plugin (Go: `server.Plugin` and the `XxxPlugin` interfaces of server/plugin.go). A
 * plugin implements any subset of the hooks; they run in the order plugins were added.
 *
 * The request hooks may wait, as Go's may block: `postReadRequest`, `preHandleRequest`,
 * `preCall` and `postCall` may return a Promise. `postReadRequest` runs where Go runs it, on the
 * connection's reader, so while its Promise is pending that connection reads nothing more (the
 * requests already read go on); the other three pause only their own request. A hook that
 * returns no Promise costs no Promise: the synchronous path is unchanged. The other hooks are
 * synchronous (a returned Promise is not awaited).
 */
export interface ServerPlugin {
  /** A name for logs. */
  readonly name?: string;
  /** Go `PostConnAcceptPlugin.HandleConnAccept`: return `false` to reject (the connection is closed at once). */
  postConnAccept?(conn: ServerConnection): boolean | void;
  /** Go `PostConnClosePlugin`: the connection is gone; `err` is set unless it closed normally. */
  postConnClose?(conn: ServerConnection, err: RpcxError | undefined): void;
  /**
   * Go `PostReadRequestPlugin`: a frame was read. Throw or return an Error to refuse it:
   * {@link ErrReqReachLimit} gives an error reply and keeps the connection; anything else closes
   * the connection without a reply.
   */
  postReadRequest?(conn: ServerConnection, req: Message): Error | void | Promise<Error | void>;
  /** Go `HeartbeatPlugin`: a heartbeat was read (it is echoed whatever this does). */
  heartbeatRequest?(conn: ServerConnection, req: Message): void;
  /** Go `PreHandleRequestPlugin`: before the lookup. Errors (and rejections) are ignored, as in Go. */
  preHandleRequest?(ctx: RequestContext): void | Promise<void>;
  /**
   * Go `PreCallPlugin` (service methods and functions, not raw handlers): after the args are
   * decoded. Return new args (or `undefined` to keep them); throw to fail the call. A Promise
   * is awaited (this request waits): its value as the return value, a rejection as a throw.
   */
  preCall?(ctx: RequestContext, serviceName: string, methodName: string, args: unknown): unknown;
  /**
   * Go `PostCallPlugin`: after the handler; `err` is what it threw (`undefined` on success).
   * Return a new reply (or `undefined` to keep it); throw to fail the call. A Promise is
   * awaited (this request's reply waits): its value as the return value, a rejection as a throw.
   */
  postCall?(ctx: RequestContext, serviceName: string, methodName: string, args: unknown, reply: unknown, err: unknown): unknown;
  /**
   * Beyond Go: runs the method, function or raw handler of a request inside what the plugin sets
   * up, e.g. an async context (`rpcx/otel` runs handlers in their request span's OpenTelemetry
   * context). Must call `run()` once, synchronously, and return what it returned (a Promise
   * included); with several plugins the first added is the outermost.
   */
  aroundCall?(ctx: RequestContext, run: () => unknown): unknown;
  /** Go `PreWriteResponsePlugin`: `res` is about to be written (`undefined` for a oneway refusal). */
  preWriteResponse?(ctx: RequestContext, res: Message | undefined, err: unknown): void;
  /** Go `PostWriteResponsePlugin`: `res` was handed to the OS (`writeErr` set if that failed). */
  postWriteResponse?(ctx: RequestContext, res: Message, err: unknown, writeErr: RpcxError | undefined): void;
  /** Go `PreWriteRequestPlugin`: a push (`sendMessage`) is about to be written. */
  preWriteRequest?(conn: ServerConnection, msg: Message): void;
  /** Go `PostWriteRequestPlugin`: a push was written, or failed with `err`. */
  postWriteRequest?(conn: ServerConnection, msg: Message, err: RpcxError | undefined): void;

  // ---- registration (Go: `RegisterPlugin`, `RegisterFunctionPlugin`), for registries ----

  /**
   * Go `RegisterPlugin.Register` (and `RegisterFunctionPlugin.RegisterFunction`): a service was
   * registered with its metadata (a URL query, e.g. `weight=10&group=a`). Called when the service
   * is registered (also before the server listens) and, for services registered before the
   * plugin was added, when it is added. A returned promise is not awaited; a registry plugin
   * reports its own errors.
   */
  register?(name: string, metadata: string): void | Promise<void>;
  /** Go `RegisterPlugin.Unregister`: the service is going away (`unregister`, `unregisterAll`, graceful shutdown). */
  unregister?(name: string): void | Promise<void>;
  /** The server is listening on `address` (`tcp@127.0.0.1:8972`); `serve` resolves after this settles. */
  serverListening?(address: string): void | Promise<void>;
  /**
   * The server is stopping (`shutdown`, before it stops reading requests, so clients stop sending
   * first; or `close`). A registry plugin removes its entries and ends its timers here; the
   * server waits for the returned promise (at most the shutdown timeout).
   */
  serverStopping?(): void | Promise<void>;
}

type HookName = Exclude<keyof ServerPlugin, 'name'>;
const HOOKS: readonly HookName[] = [
  'postConnAccept',
  'postConnClose',
  'postReadRequest',
  'heartbeatRequest',
  'preHandleRequest',
  'preCall',
  'postCall',
  'aroundCall',
  'preWriteResponse',
  'postWriteResponse',
  'preWriteRequest',
  'postWriteRequest',
  'register',
  'unregister',
  'serverListening',
  'serverStopping',
];

/**
 * The plugins of one server (Go: `server.PluginContainer`), with one array per hook so the
 * request path pays nothing for hooks nobody implements.
 */
export class PluginContainer {
  #all: ServerPlugin[] = [];
  /** @internal */ postConnAccept: ServerPlugin[] = [];
  /** @internal */ postConnClose: ServerPlugin[] = [];
  /** @internal */ postReadRequest: ServerPlugin[] = [];
  /** @internal */ heartbeatRequest: ServerPlugin[] = [];
  /** @internal */ preHandleRequest: ServerPlugin[] = [];
  /** @internal */ preCall: ServerPlugin[] = [];
  /** @internal */ postCall: ServerPlugin[] = [];
  /** @internal */ aroundCall: ServerPlugin[] = [];
  /** @internal */ preWriteResponse: ServerPlugin[] = [];
  /** @internal */ postWriteResponse: ServerPlugin[] = [];
  /** @internal */ preWriteRequest: ServerPlugin[] = [];
  /** @internal */ postWriteRequest: ServerPlugin[] = [];
  /** @internal */ register: ServerPlugin[] = [];
  /** @internal */ unregister: ServerPlugin[] = [];
  /** @internal */ serverListening: ServerPlugin[] = [];
  /** @internal */ serverStopping: ServerPlugin[] = [];
  /** Called with each plugin added (the server announces its services to a registry plugin added late). */
  /** @internal */ onAdd: ((plugin: ServerPlugin) => void) | undefined;

  add(plugin: ServerPlugin): void {
    this.#all.push(plugin);
    this.#rebuild();
    this.onAdd?.(plugin);
  }

  remove(plugin: ServerPlugin): void {
    this.#all = this.#all.filter((p) => p !== plugin);
    this.#rebuild();
  }

  all(): ServerPlugin[] {
    return [...this.#all];
  }

  #rebuild(): void {
    for (const h of HOOKS) this[h] = this.#all.filter((p) => typeof p[h] === 'function');
  }
}

/**
 * @internal Calls `run` inside every `aroundCall` plugin, the first added outermost; `run()`
 * itself when there is none.
 */
export function runAround(plugins: readonly ServerPlugin[], ctx: RequestContext, run: () => unknown, i = 0): unknown {
  if (i >= plugins.length) return run();
  return plugins[i]!.aroundCall!(ctx, () => runAround(plugins, ctx, run, i + 1));
}

/** A token bucket refilled at `ratePerSecond` up to `burst` (default `max(1, ratePerSecond)`); `take()` spends one token if there is one. */
function tokenBucket(options: { ratePerSecond: number; burst?: number }): () => boolean {
  const rate = options.ratePerSecond;
  if (!(rate > 0)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'ratePerSecond must be > 0');
  const burst = options.burst ?? Math.max(1, rate);
  let tokens = burst;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
    last = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };
}

/**
 * A token-bucket request rate limiter (Go: `serverplugin.NewReqRateLimitingPlugin`): over the
 * limit a request gets Go's `request reached rate limit` error reply and the connection stays
 * open. Heartbeats are not counted. `burst` defaults to `max(1, ratePerSecond)`.
 *
 * `block: true` is Go's blocking mode (`block` argument true, `limiter.Wait`): a request over the
 * limit is not refused but waits for its token; while it waits, its connection reads nothing more
 * (Go blocks that connection's reader goroutine), other connections go on.
 */
export function rateLimitPlugin(options: { ratePerSecond: number; burst?: number; block?: boolean }): ServerPlugin {
  if (options.block === true) return blockingRateLimitPlugin(options);
  const take = tokenBucket(options);
  return {
    name: 'rateLimit',
    postReadRequest(_conn, req) {
      if (req.heartbeat) return;
      return take() ? undefined : ErrReqReachLimit;
    },
  };
}

/** Go's `ReqRateLimitingPlugin` with `block`: take a token, going into debt, and wait it off (juju/ratelimit `Wait`). */
function blockingRateLimitPlugin(options: { ratePerSecond: number; burst?: number }): ServerPlugin {
  const rate = options.ratePerSecond;
  if (!(rate > 0)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'ratePerSecond must be > 0');
  const burst = options.burst ?? Math.max(1, rate);
  let tokens = burst;
  let last = performance.now();
  return {
    name: 'rateLimit',
    postReadRequest(_conn, req) {
      if (req.heartbeat) return;
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
      last = now;
      tokens--;
      if (tokens >= 0) return;
      const waitMs = (-tokens / rate) * 1000;
      return new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    },
  };
}

/**
 * A connection rate limiter (Go: `serverplugin.NewRateLimitingPlugin`): a connection accepted
 * when the bucket is empty is closed at once.
 */
export function connectionRateLimitPlugin(options: { ratePerSecond: number; burst?: number }): ServerPlugin {
  const take = tokenBucket(options);
  return {
    name: 'connectionRateLimit',
    postConnAccept() {
      return take();
    },
  };
}

/**
 * An access log through `debug` (namespace `rpcx:server:access` by default; enable it with
 * `DEBUG=rpcx:server*`): one line per reply written, with client, service, method, seq, status,
 * payload size and handling time. Payloads are never logged. Costs nothing when disabled.
 */
export function accessLogPlugin(namespace = 'rpcx:server:access'): ServerPlugin {
  const log = createDebug(namespace);
  return {
    name: 'accessLog',
    postConnAccept(conn) {
      if (log.enabled) log('%s connected', conn.remoteAddress);
    },
    postConnClose(conn, err) {
      if (log.enabled) log('%s disconnected%s', conn.remoteAddress, err === undefined ? '' : `: ${err.message}`);
    },
    postWriteResponse(ctx, res, err) {
      if (!log.enabled) return;
      const ms = (performance.now() - ctx.startedAt).toFixed(2);
      const status = err === undefined ? 'ok' : `error ${JSON.stringify(res.metadata.get('__rpcx_error__') ?? '')}`;
      log('%s %s.%s seq=%s %s %dB %sms', ctx.remoteAddress, ctx.servicePath, ctx.serviceMethod, ctx.request.seq, status, res.payload.length, ms);
    },
  };
}
