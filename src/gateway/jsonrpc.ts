// Go rpcx's JSON-RPC 2.0 endpoint (server/jsonrpc2.go `jsonrpcHandler`/`handleJSONRPCRequest`,
// server/jsonrpc2_wire.go): any path and method, one request object per HTTP request, every
// answer HTTP 200 with Go's misspelt `Context-Type: application/json` header.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageType, MetaKey, SerializeType } from '../protocol/constants.js';
import { createMessage } from '../protocol/message.js';
import { JsonCodec } from '../codec/json.js';
import type { ServerConnection } from '../server/connection.js';
import { errorText } from '../server/dispatch.js';
import { authenticate, gatewayContext, handleRequest, isThenable, type GatewayHost, type HandleResult } from './handle.js';
import type { RequestContext } from '../server/context.js';
import type { Message } from '../protocol/message.js';
import { endWith, endWithHead, headerGet, httpError, isAscii, latin1ToUtf8, type RequestHeaders } from './http-util.js';
import { marshalRaw, marshalString, unmarshalRequest, type JsonRpcRequest } from './go-json.js';
import { parseQuery } from './url-values.js';

/** JSON-RPC 2.0 error codes Go rpcx uses (server/jsonrpc2_wire.go). */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

/** `result`: the result's JSON as its UTF-8 bytes in a Latin-1 string (as it goes on the wire). */
type Reply = { result: string } | { code: number; message: string };

/** A text as its UTF-8 bytes in a Latin-1 string (the same string when ASCII). */
function wire(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

function idJson(id: JsonRpcRequest['id']): string | undefined {
  if (id === undefined) return undefined;
  return 'name' in id ? wire(marshalString(id.name)) : id.number;
}

/**
 * Go `json.Marshal(jsonrpcRespone)`: `jsonrpc`, then `result` or `error` (with `"data":null`),
 * then `id` if any; as UTF-8 bytes in a Latin-1 string, for one write of head and body.
 */
function responseWire(reply: Reply, id: JsonRpcRequest['id']): string {
  let s = '{"jsonrpc":"2.0"';
  if ('result' in reply) s += `,"result":${reply.result}`;
  else s += `,"error":{"code":${reply.code},"message":${wire(marshalString(reply.message))},"data":null}`;
  const i = idJson(id);
  if (i !== undefined) s += `,"id":${i}`;
  return `${s}}`;
}

function writeResponse(res: ServerResponse, wireJson: string): void {
  // Go sniffs the Content-Type: for these answers (valid JSON, no control byte in it) always
  // text; given here, not sniffed, unless a Content-Type was set before (none is today).
  if (res.hasHeader('Content-Type')) endWithHead(res, 200, ['Context-Type', 'application/json'], wireJson);
  else endWithHead(res, 200, ['Context-Type', 'application/json', 'Content-Type', 'text/plain; charset=utf-8'], wireJson, false);
}

type Outcome = Reply | { marshalError: string } | undefined;

/** Go `handleJSONRPCRequest`: the reply, or `undefined` for a notification; synchronous unless the AuthFunc or the method is not. */
function handle(host: GatewayHost, conn: ServerConnection, r: JsonRpcRequest, h: RequestHeaders): Outcome | Promise<Outcome> {
  const notify = r.id === undefined;
  const lastDot = r.method.lastIndexOf('.');
  if (lastDot <= 0) return { code: JsonRpcCode.MethodNotFound, message: 'must contains servicepath and method' };
  if (r.params === undefined) {
    // Go dereferences the nil params here: the connection dies without an answer (and a
    // notification kills the whole Go server). Answered instead.
    return notify ? undefined : { code: JsonRpcCode.InvalidParams, message: 'invalid params: params must be given' };
  }
  const msg = createMessage({ messageType: MessageType.Request, serializeType: SerializeType.JSON, oneway: notify });
  msg.servicePath = r.method.slice(0, lastDot);
  msg.serviceMethod = r.method.slice(lastDot + 1);
  msg.payload = r.params;
  const meta = headerGet(h, 'x-rpcx-meta');
  if (meta !== '') for (const [k, v] of parseQuery(Buffer.from(meta, 'latin1')).values) msg.metadata.set(k, v);
  const auth = headerGet(h, 'authorization');
  if (auth !== '') msg.metadata.set(MetaKey.Auth, latin1ToUtf8(auth));

  for (const p of host.plugins.postReadRequest) {
    let refused: unknown;
    try {
      const x = p.postReadRequest!(conn, msg);
      if (x !== undefined && x !== null) refused = x;
    } catch (e) {
      refused = e ?? new Error(String(e));
    }
    if (refused !== undefined) return { code: JsonRpcCode.InternalError, message: errorText(refused) };
  }
  const ctx = gatewayContext(host, conn, msg);
  if (host.authFunc === undefined) return call(host, ctx, msg, notify);
  return authenticate(host, ctx, msg).then((authErr) => {
    if (authErr === undefined) return call(host, ctx, msg, notify);
    ctx.finish();
    return { code: JsonRpcCode.InternalError, message: errorText(authErr) };
  });
}

function call(host: GatewayHost, ctx: RequestContext, msg: Message, notify: boolean): Outcome | Promise<Outcome> {
  const out = handleRequest(host, ctx, msg);
  if (isThenable(out)) return out.then((o) => outcome(host, ctx, o, notify));
  return outcome(host, ctx, out, notify);
}

function outcome(host: GatewayHost, ctx: RequestContext, out: HandleResult, notify: boolean): Outcome {
  if (notify) return undefined;
  for (const p of host.plugins.preWriteResponse) {
    try {
      p.preWriteResponse!(ctx, undefined, out.err);
    } catch {
      // ignored, as in Go
    }
  }
  if (out.err !== undefined) {
    host.handleServiceError?.(out.err);
    return { code: JsonRpcCode.InternalError, message: errorText(out.err) };
  }
  const payload = out.res.payload;
  // Our own JSON codec writes what Go's RawMessage marshal would give back unchanged (valid,
  // compact, HTML-escaped JSON): its bytes are the result as they are. Any other codec's
  // output (or an empty payload) goes through Go's check.
  if (payload.length > 0 && host.codecs.find(SerializeType.JSON)?.constructor === JsonCodec) {
    return { result: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1') };
  }
  const result = marshalRaw(payload);
  if (typeof result !== 'string') return { marshalError: `json: error calling MarshalJSON for type *json.RawMessage: ${result.error}` };
  return { result };
}

/** One JSON-RPC request (Go: `jsonrpcHandler`); `body` is the whole request body, `h` its headers. */
export function handleJsonRpcRequest(host: GatewayHost, conn: ServerConnection, h: RequestHeaders, res: ServerResponse, body: Buffer): void | Promise<void> {
  const parsed = unmarshalRequest(body);
  if ('error' in parsed) {
    writeResponse(res, responseWire({ code: JsonRpcCode.ParseError, message: parsed.error }, undefined));
    return;
  }
  const r = parsed.request;
  if (r.id === undefined) {
    // A notification: Go answers an empty 200 at once and runs the call on its own.
    res.statusCode = 200;
    endWith(res, Buffer.alloc(0));
    try {
      const done = handle(host, conn, r, h);
      if (isThenable(done)) done.then(undefined, (err: unknown) => host.handleServiceError?.(err));
    } catch (err) {
      host.handleServiceError?.(err);
    }
    return;
  }
  const reply = handle(host, conn, r, h);
  if (isThenable(reply)) return reply.then((x) => send(res, r, x));
  send(res, r, reply);
}

function send(res: ServerResponse, r: JsonRpcRequest, reply: Outcome): void {
  if (reply === undefined) return;
  if ('marshalError' in reply) {
    httpError(res, reply.marshalError, 500);
    return;
  }
  writeResponse(res, responseWire(reply, r.id));
}
