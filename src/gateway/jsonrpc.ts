// Go rpcx's JSON-RPC 2.0 endpoint (server/jsonrpc2.go `jsonrpcHandler`/`handleJSONRPCRequest`,
// server/jsonrpc2_wire.go): any path and method, one request object per HTTP request, every
// answer HTTP 200 with Go's misspelt `Context-Type: application/json` header.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageType, MetaKey, SerializeType } from '../protocol/constants.js';
import { createMessage } from '../protocol/message.js';
import type { ServerConnection } from '../server/connection.js';
import { errorText } from '../server/dispatch.js';
import { authenticate, gatewayContext, handleRequest, type GatewayHost } from './handle.js';
import { endWith, headerGet, httpError, latin1ToUtf8 } from './http-util.js';
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

type Reply = { result: string } | { code: number; message: string };

function idJson(id: JsonRpcRequest['id']): string | undefined {
  if (id === undefined) return undefined;
  return 'name' in id ? marshalString(id.name) : id.number.toString();
}

/** Go `json.Marshal(jsonrpcRespone)`: `jsonrpc`, then `result` or `error` (with `"data":null`), then `id` if any. */
function responseJson(reply: Reply, id: JsonRpcRequest['id']): string {
  let s = '{"jsonrpc":"2.0"';
  if ('result' in reply) s += `,"result":${reply.result}`;
  else s += `,"error":{"code":${reply.code},"message":${marshalString(reply.message)},"data":null}`;
  const i = idJson(id);
  if (i !== undefined) s += `,"id":${i}`;
  return `${s}}`;
}

function writeResponse(res: ServerResponse, json: string): void {
  res.setHeader('Context-Type', 'application/json');
  res.statusCode = 200;
  endWith(res, Buffer.from(json, 'utf8'));
}

/** Go `handleJSONRPCRequest`: the reply, or `undefined` for a notification. */
async function handle(host: GatewayHost, conn: ServerConnection, r: JsonRpcRequest, req: IncomingMessage): Promise<Reply | { marshalError: string } | undefined> {
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
  const meta = headerGet(req, 'X-RPCX-Meta');
  if (meta !== '') for (const [k, v] of parseQuery(Buffer.from(meta, 'latin1')).values) msg.metadata.set(k, v);
  const auth = headerGet(req, 'Authorization');
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
  const authErr = await authenticate(host, ctx, msg);
  if (authErr !== undefined) {
    ctx.finish();
    return { code: JsonRpcCode.InternalError, message: errorText(authErr) };
  }
  const out = await handleRequest(host, ctx, msg);
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
  const result = marshalRaw(out.res.payload);
  if (typeof result !== 'string') return { marshalError: `json: error calling MarshalJSON for type *json.RawMessage: ${result.error}` };
  return { result };
}

/** One JSON-RPC request (Go: `jsonrpcHandler`); `body` is the whole request body. */
export async function handleJsonRpcRequest(host: GatewayHost, conn: ServerConnection, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const parsed = unmarshalRequest(body);
  if ('error' in parsed) {
    writeResponse(res, responseJson({ code: JsonRpcCode.ParseError, message: parsed.error }, undefined));
    return;
  }
  const r = parsed.request;
  if (r.id === undefined) {
    // A notification: Go answers an empty 200 at once and runs the call on its own.
    res.statusCode = 200;
    endWith(res, Buffer.alloc(0));
    handle(host, conn, r, req).catch((err: unknown) => host.handleServiceError?.(err));
    return;
  }
  const reply = await handle(host, conn, r, req);
  if (reply === undefined) return;
  if ('marshalError' in reply) {
    httpError(res, reply.marshalError, 500);
    return;
  }
  writeResponse(res, responseJson(reply, r.id));
}
