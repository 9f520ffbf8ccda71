// Go rpcx's `Server.handleRequest` (server/server.go), which the HTTP gateway and JSON-RPC call
// directly: services and functions only (no raw `AddHandler` routes — Go's gateway never looks
// at them), PreCall/PostCall plugins, the reply encoded unless oneway, errors as Go's
// `handleError` sets them. Nothing is written: the caller turns the result into HTTP.
import { Duplex } from 'node:stream';
import { ServiceError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import { MessageStatusType, MetaKey } from '../protocol/constants.js';
import { responseFor, type Message } from '../protocol/message.js';
import { defaultCompressors } from '../node/gzip.js';
import { FrameConnection } from '../node/frame-connection.js';
import { ServerConnection } from '../server/connection.js';
import { RequestContext, type RawReplyWriter } from '../server/context.js';
import { errorText, type AuthFunc } from '../server/dispatch.js';
import { runAround, type PluginContainer } from '../server/plugins.js';
import type { MethodEntry, ServiceRegistry } from '../server/registry.js';
import type { Codec } from '../codec/types.js';
import type { ServerHandle } from '../server/types.js';

/** @internal What the gateway and JSON-RPC need from their server. */
export interface GatewayHost {
  readonly server: ServerHandle;
  readonly registry: ServiceRegistry;
  readonly codecs: CodecRegistry;
  readonly plugins: PluginContainer;
  readonly authFunc: AuthFunc | undefined;
  readonly handleServiceError: ((err: unknown) => void) | undefined;
  readonly serverErrorFunc: ((res: Message, err: unknown) => string) | undefined;
}

/** The outcome of Go's `handleRequest`: the response, and the error if the call failed. */
export interface HandleResult {
  res: Message;
  err: unknown;
}

const EMPTY = new Uint8Array(0);

/** @internal */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

const NO_RAW: RawReplyWriter = {
  bind: () => {
    throw new Error('ctx.bind() is for raw handlers');
  },
  write: () => {
    throw new Error('ctx.write() is for raw handlers');
  },
  writeError: () => {
    throw new Error('ctx.writeError() is for raw handlers');
  },
};

/**
 * @internal The `ServerConnection` handlers see as `ctx.connection` for requests that came over
 * HTTP (Go puts the remote address string, or the HTTP `net.Conn`, there). It carries no rpcx
 * frames: pushes to it are dropped. It closes with the HTTP socket, which aborts `ctx.signal`.
 */
export function httpConnection(remote: string, local: string): ServerConnection {
  const sink = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const frames = new FrameConnection(sink, remote, { compressors: defaultCompressors });
  const conn = new ServerConnection(frames, local, { maxInFlight: Number.MAX_SAFE_INTEGER, maxQueuedReplyBytes: Number.MAX_SAFE_INTEGER, readTimeoutMs: 0, writeTimeoutMs: 0 });
  frames.onClose = (err) => conn.onClosed(err);
  return conn;
}

/** A request context for a gateway/JSON-RPC request. */
export function gatewayContext(host: GatewayHost, conn: ServerConnection, req: Message): RequestContext {
  return new RequestContext(host.server, conn, req, performance.now(), NO_RAW);
}

/** Go `Server.auth`: the AuthFunc with the `__AUTH` metadata value; resolves to the refusal, if any. */
export async function authenticate(host: GatewayHost, ctx: RequestContext, req: Message): Promise<unknown> {
  const auth = host.authFunc;
  if (auth === undefined) return undefined;
  try {
    const r = await auth(ctx, req, req.metadata.get(MetaKey.Auth) ?? '');
    return r instanceof Error ? r : undefined;
  } catch (err) {
    return err ?? new Error(String(err));
  }
}

/** Go `handleError`: status Error and `__rpcx_error__` (ServerErrorFunc's text if set). */
function handleError(host: GatewayHost, res: Message, err: unknown): HandleResult {
  res.messageStatusType = MessageStatusType.Error;
  const f = host.serverErrorFunc;
  res.metadata.set(MetaKey.ServiceError, f !== undefined ? f(res, err) : errorText(err));
  return { res, err };
}

/**
 * Go `Server.handleRequest` (and `handleRequestForFunction`). Synchronous when the service method
 * is (no promise, no microtask), else a promise; `ctx` is finished either way once it is done.
 */
export function handleRequest(host: GatewayHost, ctx: RequestContext, req: Message): HandleResult | Promise<HandleResult> {
  let finish = true;
  try {
    const res = responseFor(req);
    const svc = host.registry.services.get(req.servicePath);
    if (svc === undefined) return handleError(host, res, new Error(`rpcx: can't find service ${req.servicePath}`));
    const m = svc.methods.get(req.serviceMethod) ?? svc.functions.get(req.serviceMethod);
    if (m === undefined) return handleError(host, res, new Error(`rpcx: can't find method ${req.serviceMethod}`));
    // Go keeps 4 bits of the serialize type (Header.SetSerializeType).
    const codec = host.codecs.find(req.serializeType);
    if (codec === undefined) return handleError(host, res, new Error(`can not find codec for ${req.serializeType}`));
    let args: unknown;
    try {
      args = codec.decode(req.payload, m.argsType === undefined ? undefined : { type: m.argsType });
    } catch (err) {
      return handleError(host, res, err);
    }
    try {
      for (const p of host.plugins.preCall) {
        const a = p.preCall!(ctx, req.servicePath, req.serviceMethod, args);
        if (a !== undefined) args = a;
      }
    } catch (err) {
      return handleError(host, res, err);
    }
    const call: Called = { host, ctx, req, res, method: m, codec, args };
    let out: unknown;
    try {
      const around = host.plugins.aroundCall;
      out = around.length === 0 ? m.fn.call(m.self, args, ctx) : runAround(around, ctx, () => m.fn.call(m.self, args, ctx));
    } catch (e) {
      return afterCall(call, undefined, e ?? new Error(String(e)));
    }
    if (!isThenable(out)) return afterCall(call, out, undefined);
    finish = false;
    return Promise.resolve(out)
      .then(
        (reply) => afterCall(call, reply, undefined),
        (e: unknown) => afterCall(call, undefined, e ?? new Error(String(e))),
      )
      .finally(() => ctx.finish());
  } finally {
    if (finish) ctx.finish();
  }
}

interface Called {
  host: GatewayHost;
  ctx: RequestContext;
  req: Message;
  res: Message;
  method: MethodEntry;
  codec: Codec;
  args: unknown;
}

/** The rest of `handleRequest` once the method has returned or thrown: PostCall plugins, the reply encoded. */
function afterCall(c: Called, reply: unknown, err: unknown): HandleResult {
  const { host, ctx, req, res, method: m, codec, args } = c;
  for (const p of host.plugins.postCall) {
    try {
      const r = p.postCall!(ctx, req.servicePath, req.serviceMethod, args, reply, err);
      if (r !== undefined) reply = r;
    } catch (e) {
      if (err === undefined) err = e ?? new Error(String(e));
      break;
    }
  }
  if (err !== undefined) {
    const errReply = err instanceof ServiceError ? err.reply : undefined;
    if (errReply !== undefined) {
      try {
        res.payload = codec.encode(errReply, m.replyType === undefined ? undefined : { type: m.replyType });
      } catch (encodeErr) {
        return handleError(host, res, encodeErr);
      }
    }
    return handleError(host, res, err);
  }
  if (!req.oneway) {
    try {
      res.payload = reply === undefined ? EMPTY : codec.encode(reply, m.replyType === undefined ? undefined : { type: m.replyType });
    } catch (encodeErr) {
      return handleError(host, res, encodeErr);
    }
  }
  return { res, err: undefined };
}
