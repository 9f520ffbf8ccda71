// The `ws` and `wss` networks (Go rpcx: `Server.Serve("ws"|"wss")` through golang.org/x/net's
// websocket.Handler at `/_rpcx_`, and the client's `newDirectWSConn`), with the npm `ws` package.
// A WebSocket here is a byte stream, as in Go: binary (and text) message payloads are fed in order
// to the frame decoder, whatever their boundaries; each write goes out as one binary message.
// Both sides hand a Node `Duplex` (ws's `createWebSocketStream`) to `FrameConnection`, which
// takes it in place of a socket.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions as TlsConnectionOptions, TlsOptions } from 'node:tls';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { ErrorCode, RpcxError } from '../errors.js';

/** Go's x/net websocket answers, written on the socket as they are (no headers, no body). */
const FORBIDDEN = 'HTTP/1.1 403 Forbidden\r\n\r\n';
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\n\r\n';
const NOT_ALLOWED = 'HTTP/1.1 405 Method Not Allowed\r\n\r\n';
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 19\r\nConnection: close\r\n\r\n404 page not found\n';

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/**
 * Go x/net `websocket.Origin`: the `Origin` header parsed by `url.ParseRequestURI`; missing or
 * unparsable (`null`, a bare word) means the handshake is refused with a bare 403.
 */
function originOk(origin: string | undefined): boolean {
  if (origin === undefined || origin === '') return false;
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(origin) || origin.startsWith('/');
}

function remoteOf(s: Socket): string {
  const a = s.remoteAddress ?? 'unknown';
  return a.includes(':') ? `[${a}]:${s.remotePort}` : `${a}:${s.remotePort}`;
}

/**
 * @internal The HTTP(S) server of the `ws`/`wss` networks: WebSocket upgrades on `rpcPath`
 * become rpcx connections (`onSocket` gets the byte-stream Duplex); other requests get Go's
 * answers. Listening is left to the caller.
 */
export function createWebSocketListener(tls: TlsOptions | undefined, rpcPath: string, onSocket: (stream: Duplex, remote: string) => void): HttpServer {
  const http = tls === undefined ? createHttpServer() : createHttpsServer(tls);
  const upgrade = webSocketUpgrader(rpcPath, onSocket);
  http.on('request', (req: IncomingMessage, res) => {
    // Not an upgrade: Go's mux 404 elsewhere; on rpcPath x/net's handshake failure, bare.
    if (pathOf(req.url) !== rpcPath) {
      res.socket?.end(NOT_FOUND);
      return;
    }
    res.socket?.end(req.method === 'GET' ? BAD_REQUEST : NOT_ALLOWED);
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(req, socket, head));
  return http;
}

/**
 * @internal Handles an HTTP upgrade request (Node's `upgrade` event) as Go's x/net websocket
 * handler at `rpcPath`: another path → Go's 404, no or a bad `Origin` → bare 403, else the
 * WebSocket byte stream goes to `onSocket`.
 */
export function webSocketUpgrader(rpcPath: string, onSocket: (stream: Duplex, remote: string) => void): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  // Go's x/net client sends its rpcx bytes in *text* frames (PayloadType is never set to binary
  // on the client side): they are bytes all the same, so UTF-8 is not checked.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 0, skipUTF8Validation: true });
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (pathOf(req.url) !== rpcPath) {
      socket.end(NOT_FOUND);
      return;
    }
    if (req.method !== 'GET') {
      socket.end(NOT_ALLOWED);
      return;
    }
    if (!originOk(req.headers.origin)) {
      socket.end(FORBIDDEN);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const raw = req.socket;
      raw.setNoDelay(true);
      onSocket(createWebSocketStream(ws), remoteOf(raw));
    });
  };
}

/** Options of {@link dialWebSocket}. */
export interface WebSocketDialOptions {
  readonly rpcPath: string;
  readonly timeoutMs: number;
  readonly tls: TlsConnectionOptions | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Opens `ws://address/_rpcx_` (`wss://` for `secure`) with `Origin: http://address` (`https://`),
 * as Go's client does; resolves with the byte-stream Duplex. Its `rpcxLocation` is the URL, which
 * Go's client reports as the server address (`__ServerAddress`).
 */
export function dialWebSocket(address: string, secure: boolean, options: WebSocketDialOptions): Promise<Duplex & { rpcxLocation: string }> {
  const url = `${secure ? 'wss' : 'ws'}://${address}${options.rpcPath}`;
  const origin = `${secure ? 'https' : 'http'}://${address}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const ws = new WebSocket(url, {
      origin,
      perMessageDeflate: false,
      maxPayload: 0,
      skipUTF8Validation: true,
      handshakeTimeout: options.timeoutMs,
      ...(secure && options.tls !== undefined ? options.tls : {}),
    });
    const fail = (err: RpcxError): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      ws.terminate();
      reject(err);
    };
    const onAbort = (): void => fail(new RpcxError(ErrorCode.CANCELLED, `dial ${url} aborted`, { cause: options.signal?.reason }));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    ws.once('unexpected-response', (_req, res) => fail(new RpcxError(ErrorCode.CONNECTION, `dial ${url}: unexpected HTTP response ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trimEnd())));
    ws.once('error', (err) => fail(new RpcxError(ErrorCode.CONNECTION, `dial ${url}: ${err.message}`, { cause: err })));
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      const stream = createWebSocketStream(ws);
      resolve(Object.assign(stream, { rpcxLocation: url }));
    });
  });
}
