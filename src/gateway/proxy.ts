// The standalone HTTP gateway of the Go ecosystem, rpcxio/rpcx-gateway (gateway.go, converter.go):
// an HTTP server, not an rpcx server, that turns each request into an rpcx request with the same
// `X-RPCX-*` headers as the in-server gateway, finds the servers of its service through a
// ServiceDiscovery (one cached XClient per service path, `discovery.Clone(servicePath)`), sends it
// with `XClient.SendRaw` and writes the reply back. docs/transports.md lists the quirks kept.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, RpcxError } from '../errors.js';
import { CompressType, MessageStatusType, MetaKey } from '../protocol/constants.js';
import { DEFAULT_MAX_MESSAGE_LENGTH } from '../protocol/message.js';
import type { ServiceDiscovery } from '../client/discovery.js';
import { FailMode, type SelectMode } from '../client/fail-mode.js';
import { cloned } from '../client/oneclient.js';
import { createXClient, XCLIENT_SHUTDOWN, type XClient, type XClientOptions } from '../client/xclient.js';
import { GatewayHeader, methodNotAllowed, readGatewayRequest } from './gateway.js';
import { endWithHead, headerGet, headerValue, httpError, readBody, type Head } from './http-util.js';

const H = GatewayHeader;
const EMPTY_BODY = Buffer.alloc(0);
const U64 = 1n << 64n;

/** Options of {@link createGatewayProxy} (Go: `gateway.NewGateway`'s arguments). */
export interface GatewayProxyOptions {
  /**
   * Where the servers are: each service path gets `discovery.clone(servicePath)` (a registry
   * discovery, or a `MultipleServersDiscovery`/`Peer2PeerDiscovery`, whose clone is itself). The
   * caller keeps ownership of this discovery; the clones are closed by {@link GatewayProxy.close}.
   */
  discovery: ServiceDiscovery;
  /** Default `Failover` (Go's rpcx-gateway command: `Failover`). */
  failMode?: FailMode;
  /** Default `RandomSelect` (Go's rpcx-gateway command: `RandomSelect`). */
  selectMode?: SelectMode;
  /** The XClients' other options (Go: `client.Option`), e.g. `{ retries, connectTimeoutMs, codecs }`. */
  clientOptions?: Omit<XClientOptions, 'discovery' | 'failMode' | 'selectMode'>;
  /** Largest request body read, in bytes; beyond it the connection is closed (default 64 MiB). */
  maxBodyLength?: number;
  /** Deadline of each rpcx call in ms (sent as `__ServerTimeout`); default none, as Go's `context.Background()`. */
  timeoutMs?: number;
}

/** A running gateway proxy: the HTTP handler and `close()`. */
export interface GatewayProxy {
  /** The Node `http` request listener: `http.createServer(proxy.handler)`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The service paths with an XClient so far. */
  readonly servicePaths: readonly string[];
  /** Closes every XClient and the discoveries cloned for them; later requests get `xClient is shut down`. */
  close(): Promise<void>;
}

/** One service path's XClient and the discovery cloned for it. */
interface Entry {
  xc: XClient;
  discovery: ServiceDiscovery;
}

/** A header token character (RFC 7230 `tchar`): Go's `validHeaderFieldByte`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Go `textproto.CanonicalMIMEHeaderKey`: the first letter and each letter after `-` upper case,
 * the rest lower case; a key with a byte that is not a token character is returned as it is
 * (`undefined` here: Node refuses to write such a header name, so it is left out).
 */
export function canonicalHeaderKey(key: string): string | undefined {
  if (!TOKEN.test(key)) return undefined;
  let out = '';
  let upper = true;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/**
 * The standalone rpcx HTTP gateway (Go: rpcxio/rpcx-gateway `Gateway.handleRequest`): every
 * GET, POST or PUT on any path is an rpcx call; the service path is the `X-RPCX-ServicePath`
 * header, else the URL path without its leading `/`. The request is converted as the in-server
 * gateway does (`X-RPCX-SerializeType`, `-ServiceMethod`, `-Meta`, `-Oneway`, `-Heartbeat`,
 * `-CompressType`, `Authorization` → `__AUTH`, and, as rpcx-gateway, `Content-Encoding: gzip`),
 * numbered with the gateway's own sequence and sent with `XClient.sendRaw` through the XClient
 * of its service path (created on first use with `discovery.clone(servicePath)`).
 *
 * The answer is rpcx-gateway's: status 200 always; the reply's metadata as response headers
 * (keys canonicalised, as Go's `Header.Set`), `X-Rpcx-Messageid` echoed from the request, the
 * payload as body. A failure (bad headers, no server, connection error, service error) is
 * status 200 with an empty body and `X-Rpcx-Messagestatustype: Error` and
 * `X-Rpcx-Errormessage: <text>`; for a service error under Failfast the reply's metadata
 * (`__rpcx_error__` included) is copied too, as Go's `SendRaw` returns it only then.
 */
export function createGatewayProxy(options: GatewayProxyOptions): GatewayProxy {
  const root = options.discovery;
  const failMode = options.failMode ?? FailMode.Failover;
  const maxBody = options.maxBodyLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
  const entries = new Map<string, Entry>();
  let seq = 0n;
  let closed = false;

  const xclientFor = (servicePath: string): XClient => {
    let e = entries.get(servicePath);
    if (e === undefined) {
      const discovery = cloned(root, servicePath);
      const xc = createXClient(servicePath, {
        ...options.clientOptions,
        discovery,
        failMode,
        ...(options.selectMode === undefined ? {} : { selectMode: options.selectMode }),
      });
      e = { xc, discovery };
      entries.set(servicePath, e);
    }
    return e.xc;
  };

  const fail = (res: ServerResponse, head: Head, text: string): void => {
    head.push(H.MessageStatusType, 'Error', H.ErrorMessage, headerValue(text));
    endWithHead(res, 200, head, EMPTY_BODY);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const r = readGatewayRequest(req.url ?? '/', req, body);
    if (r === undefined) {
      httpError(res, '400 Bad Request', 400);
      return;
    }
    const { servicePath, messageID, serializeType, serviceMethod, parsed } = r;
    // rpcx-gateway's converter: these three are required (it meant to answer the error below;
    // it dereferences the nil request first and the connection drops).
    let err = typeof parsed === 'string' ? parsed : undefined;
    if (err === undefined && serializeType === '') err = 'empty serialized type';
    if (err === undefined && servicePath === '') err = 'empty servicepath';
    if (err === undefined && serviceMethod === '') err = 'empty servicemethod';
    if (err !== undefined || typeof parsed === 'string') {
      fail(res, [], err ?? '');
      return;
    }
    const msg = parsed;
    if (headerGet(req, 'x-rpcx-compresstype') === '' && headerGet(req, 'content-encoding') === 'gzip') msg.compressType = CompressType.Gzip;
    seq = (seq + 1n) % U64;
    msg.seq = seq;
    if (closed) {
      fail(res, [], XCLIENT_SHUTDOWN);
      return;
    }
    let xc: XClient;
    try {
      xc = xclientFor(servicePath);
    } catch (e) {
      fail(res, [], RpcxError.from(e).message);
      return;
    }
    // The HTTP caller going away cancels the call.
    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort(new RpcxError(ErrorCode.CANCELLED, 'the HTTP caller went away'));
    };
    res.once('close', onClose);
    xc.sendRaw(msg, { signal: ac.signal, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) }).then(
      (r) => {
        if (res.destroyed) return;
        const m = r.message;
        const isError = m.messageStatusType === MessageStatusType.Error && r.metadata.size > 0;
        // Go's SendRaw returns the reply metadata on success, and on a service error only under
        // Failfast (and Failbackup, which SendRaw treats as Failfast).
        const copyMeta = !isError || (failMode !== FailMode.Failover && failMode !== FailMode.Failtry);
        const headers = new Map<string, string>();
        if (copyMeta) {
          for (const [k, v] of r.metadata) {
            const name = canonicalHeaderKey(k);
            if (name !== undefined) headers.set(name, headerValue(v));
          }
        }
        if (messageID !== '') headers.set(H.MessageID, messageID);
        if (isError) {
          headers.set(H.MessageStatusType, 'Error');
          headers.set(H.ErrorMessage, headerValue(r.metadata.get(MetaKey.ServiceError) ?? ''));
        }
        const head: Head = [];
        for (const k of [...headers.keys()].sort()) head.push(k, headers.get(k)!);
        endWithHead(res, 200, head, isError ? EMPTY_BODY : r.payload, !headers.has('Content-Type'));
      },
      (e: unknown) => {
        if (res.destroyed) return;
        const head: Head = messageID === '' ? [] : [H.MessageID, messageID];
        fail(res, head, RpcxError.from(e).message);
      },
    )
      // Writing the answer cannot fail on values made safe above; if it does, the exchange ends.
      .catch(() => res.destroy())
      .finally(() => res.off('close', onClose));
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? '';
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT') {
      methodNotAllowed(res, method);
      req.resume();
      return;
    }
    readBody(req, maxBody, (body) => {
      try {
        handle(req, res, body);
      } catch (e) {
        if (!res.headersSent) fail(res, [], RpcxError.from(e).message);
      }
    });
  };

  return {
    handler,
    get servicePaths() {
      return [...entries.keys()];
    },
    async close() {
      if (closed) return;
      closed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((e) => e.xc.close()));
      // A clone that is the caller's discovery itself (MultipleServersDiscovery, Peer2PeerDiscovery) stays open.
      for (const e of all) if (e.discovery !== root) e.discovery.close();
    },
  };
}
