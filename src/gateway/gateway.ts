// Go rpcx's HTTP gateway (server/gateway.go `handleGatewayRequest`, server/converter.go
// `HTTPRequest2RpcxRequest`, routed by httprouter on `/*servicePath` for GET, POST and PUT).
// Every status, header spelling and text below is Go's; docs/transports.md lists the quirks kept.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageType, MetaKey } from '../protocol/constants.js';
import { createMessage, type Message } from '../protocol/message.js';
import type { ServerConnection } from '../server/connection.js';
import { errorText } from '../server/dispatch.js';
import { authenticate, gatewayContext, handleRequest, isThenable, type GatewayHost, type HandleResult } from './handle.js';
import type { RequestContext } from '../server/context.js';
import { applyHead, endWith, endWithHead, goQuote, headerGet, headerValue, httpError, latin1ToUtf8, rawHeaderValue, type Head, type RequestHeaders } from './http-util.js';
import { encodeValues, parseQuery } from './url-values.js';

/** Go's canonical spellings (`textproto.CanonicalMIMEHeaderKey` of rpcx's `X-RPCX-*` names). */
export const GatewayHeader = {
  Version: 'X-Rpcx-Version',
  MessageType: 'X-Rpcx-Messagetype',
  Heartbeat: 'X-Rpcx-Heartbeat',
  Oneway: 'X-Rpcx-Oneway',
  MessageStatusType: 'X-Rpcx-Messagestatustype',
  SerializeType: 'X-Rpcx-Serializetype',
  CompressType: 'X-Rpcx-Compresstype',
  MessageID: 'X-Rpcx-Messageid',
  ServicePath: 'X-Rpcx-Servicepath',
  ServiceMethod: 'X-Rpcx-Servicemethod',
  Meta: 'X-Rpcx-Meta',
  ErrorMessage: 'X-Rpcx-Errormessage',
} as const;

const H = GatewayHeader;
const MAX_I64 = 9223372036854775807n;
const MAX_U64 = 18446744073709551615n;

const SMALL_INT = /^[+-]?[0-9]{1,15}$/;

/**
 * Go's serialize/compress type from its header: `strconv.Atoi`, then the low byte (two's
 * complement) kept; Go's error text if not an int64.
 */
function lowByte(s: string): number | string {
  // Up to 15 digits a double is exact: the common case without BigInt.
  if (SMALL_INT.test(s)) return Number(s) & 0xff;
  const n = atoi(s);
  return typeof n === 'string' ? n : Number(BigInt.asUintN(8, n));
}

/** Go `strconv.Atoi` (int64): the value, or Go's error text. */
function atoi(s: string): bigint | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n > MAX_I64 || n < -MAX_I64 - 1n) return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`;
  return n;
}

/** Go `strconv.ParseUint(s, 10, 64)`. */
function parseUint(s: string): bigint | string {
  if (!/^[0-9]+$/.test(s)) return `strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n > MAX_U64) return `strconv.ParseUint: parsing ${goQuote(s)}: value out of range`;
  return n;
}

/**
 * @internal Go `HTTPRequest2RpcxRequest` (the body already read): the request, or the first
 * error's text. `seq`, `st` and `serviceMethod` are the `X-RPCX-MessageID`, `-SerializeType` and
 * `-ServiceMethod` headers, which the caller reads anyway. Shared by the in-server gateway and
 * the standalone gateway proxy (proxy.ts).
 */
export function httpToRpcx(h: RequestHeaders, body: Buffer, servicePath: string, seq: string, st: string, serviceMethod: string): Message | string {
  const msg = createMessage({ messageType: MessageType.Request });
  if (seq !== '') {
    const id = parseUint(seq);
    if (typeof id === 'string') return id;
    msg.seq = id;
  }
  if (headerGet(h, 'x-rpcx-heartbeat') !== '') msg.heartbeat = true;
  if (headerGet(h, 'x-rpcx-oneway') !== '') msg.oneway = true;
  if (st !== '') {
    const n = lowByte(st);
    if (typeof n === 'string') return n;
    // Go: Header.SetSerializeType keeps the low 4 bits of byte(n).
    msg.serializeType = n & 0x0f;
  }
  const ct = headerGet(h, 'x-rpcx-compresstype');
  if (ct !== '') {
    const n = lowByte(ct);
    if (typeof n === 'string') return n;
    // Go: SetCompressType keeps 3 bits; the body is never decompressed.
    msg.compressType = n & 0x07;
  }
  const meta = headerGet(h, 'x-rpcx-meta');
  if (meta !== '') {
    const q = parseQuery(Buffer.from(meta, 'latin1'));
    if (q.error !== undefined) return q.error;
    msg.metadata = q.values;
  }
  const auth = headerGet(h, 'authorization');
  if (auth !== '') msg.metadata.set(MetaKey.Auth, latin1ToUtf8(auth));
  msg.servicePath = latin1ToUtf8(servicePath);
  msg.serviceMethod = latin1ToUtf8(serviceMethod);
  msg.payload = body;
  return msg;
}

/** httprouter's answer for a method other than GET, POST, PUT (and OPTIONS) on `/*servicePath`. */
export function methodNotAllowed(res: ServerResponse, method: string): void {
  res.setHeader('Allow', 'GET, OPTIONS, POST, PUT');
  if (method === 'OPTIONS') {
    res.statusCode = 200;
    endWith(res, Buffer.alloc(0));
    return;
  }
  httpError(res, 'Method Not Allowed', 405);
}

/** @internal The path of the request URL, `%`-decoded as Go's `URL.Path` (as Latin-1 bytes); `undefined` if it cannot be. */
export function urlPath(url: string): string | undefined {
  if (url.charCodeAt(0) === 0x2f && !url.includes('%')) {
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }
  let p = url;
  if (!p.startsWith('/')) {
    try {
      p = new URL(p).pathname;
    } catch {
      return undefined;
    }
  }
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  const bytes: number[] = [];
  const raw = Buffer.from(p, 'latin1');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x25) {
      const h = raw.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('latin1');
}

const EMPTY_BODY = Buffer.alloc(0);

/** @internal An HTTP request read as Go's converter reads it, by {@link readGatewayRequest}. */
export interface GatewayRequest {
  /** `X-RPCX-ServicePath`, else the URL path without its leading `/`. */
  servicePath: string;
  /** `X-RPCX-MessageID`, `X-RPCX-ServiceMethod`, `X-RPCX-SerializeType` as sent ('' if absent). */
  messageID: string;
  serviceMethod: string;
  serializeType: string;
  /** The rpcx request, or Go's conversion error text. */
  parsed: Message | string;
}

/**
 * @internal The rpcx request of an HTTP request, as the in-server gateway (Go
 * `handleGatewayRequest`) and the standalone one (rpcx-gateway) both read it; undefined for a
 * URL Go's router refuses (the caller answers 400).
 */
export function readGatewayRequest(url: string, h: RequestHeaders, body: Buffer): GatewayRequest | undefined {
  const path = urlPath(url);
  if (path === undefined) return undefined;
  let servicePath = headerGet(h, 'x-rpcx-servicepath');
  if (servicePath === '') servicePath = path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
  const messageID = headerGet(h, 'x-rpcx-messageid');
  const serviceMethod = headerGet(h, 'x-rpcx-servicemethod');
  const serializeType = headerGet(h, 'x-rpcx-serializetype');
  return { servicePath, messageID, serviceMethod, serializeType, parsed: httpToRpcx(h, body, servicePath, messageID, serializeType, serviceMethod) };
}

/**
 * One gateway request (Go: `handleGatewayRequest`); `body` is the whole request body, `h` its
 * headers. Synchronous unless an AuthFunc or the service method is.
 */
export function handleGatewayRequest(host: GatewayHost, conn: ServerConnection, req: IncomingMessage, h: RequestHeaders, res: ServerResponse, body: Buffer): void | Promise<void> {
  const method = req.method ?? '';
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT') {
    methodNotAllowed(res, method);
    return;
  }
  const r = readGatewayRequest(req.url ?? '/', h, body);
  if (r === undefined) {
    httpError(res, '400 Bad Request', 400);
    return;
  }
  const { servicePath, messageID: seq, serviceMethod, serializeType, parsed } = r;
  let err: string | undefined = typeof parsed === 'string' ? parsed : undefined;

  const head: Head = [H.Version, headerGet(h, 'x-rpcx-version'), H.MessageID, seq];
  // Go's quirk: once an error is known, the later headers are echoed anyway.
  if (err === undefined && servicePath === '') err = 'empty servicepath';
  else head.push(H.ServicePath, rawHeaderValue(servicePath));
  if (err === undefined && serviceMethod === '') err = 'empty servicemethod';
  else head.push(H.ServiceMethod, serviceMethod);
  if (err === undefined && serializeType === '') err = 'empty serialized type';
  else head.push(H.SerializeType, serializeType);

  if (err !== undefined || typeof parsed === 'string') {
    // Go meant to echo the request's X-RPCX-* headers here; its loop never matches (canonical keys).
    head.push(H.MessageStatusType, 'Error', H.ErrorMessage, headerValue(err ?? ''));
    endWithHead(res, 200, head, EMPTY_BODY);
    return;
  }
  const msg = parsed;
  for (const p of host.plugins.postReadRequest) {
    let refused: unknown;
    try {
      const r = p.postReadRequest!(conn, msg);
      if (r !== undefined && r !== null) refused = r;
    } catch (e) {
      refused = e ?? new Error(String(e));
    }
    if (refused !== undefined) {
      applyHead(res, head);
      httpError(res, errorText(refused), 500);
      return;
    }
  }

  const ctx = gatewayContext(host, conn, msg);
  if (host.authFunc === undefined) return call(host, ctx, msg, res, head);
  return authenticate(host, ctx, msg).then((authErr) => {
    if (authErr === undefined) return call(host, ctx, msg, res, head);
    ctx.finish();
    head.push(H.MessageStatusType, 'Error', H.ErrorMessage, headerValue(errorText(authErr)));
    endWithHead(res, 401, head, EMPTY_BODY);
  });
}

/** The call itself, once authenticated: PreHandleRequest plugins, `handleRequest`, the answer. */
function call(host: GatewayHost, ctx: RequestContext, msg: Message, res: ServerResponse, head: Head): void | Promise<void> {
  for (const p of host.plugins.preHandleRequest) {
    try {
      p.preHandleRequest!(ctx);
    } catch {
      // ignored, as in Go
    }
  }
  const out = handleRequest(host, ctx, msg);
  if (isThenable(out)) return out.then((o) => answer(host, ctx, res, head, o));
  answer(host, ctx, res, head, out);
}

function answer(host: GatewayHost, ctx: RequestContext, res: ServerResponse, head: Head, out: HandleResult): void {
  if (out.err !== undefined) {
    for (const p of host.plugins.preWriteResponse) {
      try {
        p.preWriteResponse!(ctx, undefined, out.err);
      } catch {
        // ignored, as in Go
      }
    }
    host.handleServiceError?.(out.err);
    head.push(H.MessageStatusType, 'Error', H.ErrorMessage, headerValue(errorText(out.err)));
    endWithHead(res, 500, head, EMPTY_BODY);
    return;
  }
  for (const p of host.plugins.preWriteResponse) {
    try {
      p.preWriteResponse!(ctx, out.res, undefined);
    } catch {
      // ignored, as in Go
    }
  }
  const rm = ctx.responseMetadataIfAny;
  if (rm !== undefined) for (const [k, v] of rm) out.res.metadata.set(k, v);
  head.push(H.Meta, encodeValues(out.res.metadata));
  endWithHead(res, 200, head, out.res.payload);
}
