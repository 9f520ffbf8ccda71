import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { ErrorCode, RpcxError } from '../errors.js';
import { createWebSocketListener } from '../node/websocket.js';

/** Networks a server can listen on (Go: `Server.Serve`'s network argument). */
export type ServeNetwork = 'tcp' | 'tcp4' | 'tcp6' | 'unix' | 'http' | 'ws' | 'wss';

/** @internal A bound listener: `address` is Go's `network@host:port` (or `unix@path`). */
export interface Listener {
  readonly address: string;
  close(): Promise<void>;
}

/** @internal Options of {@link listen}. */
export interface ListenOptions {
  readonly tls: TlsOptions | undefined;
  readonly rpcPath: string;
  readonly onSocket: (socket: Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setKeepAlive' | 'setTimeout'>>, remote: string) => void;
  readonly onError: (err: Error) => void;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `missing port in address ${JSON.stringify(address)}`);
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(i + 1));
  if (address.slice(i + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `bad port in address ${JSON.stringify(address)}`);
  }
  return { host, port };
}

function remoteOf(socket: Socket, fallback: string): string {
  const a = socket.remoteAddress;
  if (a === undefined) return fallback;
  return a.includes(':') ? `[${a}]:${socket.remotePort}` : `${a}:${socket.remotePort}`;
}

function formatAddress(network: string, info: AddressInfo | string | null, fallback: string): string {
  if (info === null) return `${network}@${fallback}`;
  if (typeof info === 'string') return `${network}@${info}`;
  const host = info.family === 'IPv6' || info.address.includes(':') ? `[${info.address}]` : info.address;
  return `${network}@${host}:${info.port}`;
}

const CONNECTED = 'HTTP/1.0 200 Connected to rpcx\n\n';
const MAX_HTTP_HEAD = 8192;

function httpReply(status: string, body: string, extra = ''): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Reads one HTTP request head. `CONNECT <rpcPath>` gets Go's `HTTP/1.0 200 Connected to rpcx\n\n`
 * and the socket becomes an rpcx connection; another method on `rpcPath` gets Go's 405
 * `405 must CONNECT\n`; any other path Go's mux 404 `404 page not found\n`. @internal Also used
 * by the tcp port's `onePort` option (src/gateway/demux.ts).
 */
export function httpHandshake(socket: Socket, options: Pick<ListenOptions, 'rpcPath' | 'onSocket'>, remote: string): void {
  let head: Buffer = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.setTimeout(30_000, () => socket.destroy());
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const lf = head.indexOf('\n\n');
    const crlf = head.indexOf('\r\n\r\n');
    const end = lf >= 0 && (crlf < 0 || lf < crlf) ? lf + 2 : crlf >= 0 ? crlf + 4 : -1;
    if (end < 0) {
      if (head.length > MAX_HTTP_HEAD) socket.destroy();
      return;
    }
    socket.removeListener('data', onData);
    socket.pause();
    socket.setTimeout(0);
    const line = head.subarray(0, end).toString('latin1').split(/\r?\n/)[0] ?? '';
    const [method = '', target = ''] = line.split(' ');
    const path = target.split('?')[0];
    if (path !== options.rpcPath) {
      socket.end(httpReply('404 Not Found', '404 page not found\n', 'X-Content-Type-Options: nosniff\r\n'));
      return;
    }
    if (method !== 'CONNECT') {
      socket.end(httpReply('405 Method Not Allowed', '405 must CONNECT\n'));
      return;
    }
    socket.write(CONNECTED);
    const rest = head.subarray(end);
    socket.removeAllListeners('error');
    if (rest.length > 0) socket.unshift(rest);
    options.onSocket(socket, remote);
  };
  socket.on('data', onData);
}

/**
 * Opens the listener for `network` (Go: `Server.Serve` / `makeListener`): `tcp`/`tcp4`/`tcp6`
 * (TLS when `tls` is given), `unix` (a socket path) and `http` (Go's `serveByHTTP`: `CONNECT
 * /_rpcx_` switches the connection to rpcx frames after `HTTP/1.0 200 Connected to rpcx\n\n`;
 * any other method on that path gets `405 must CONNECT\n`).
 */
export async function listen(network: ServeNetwork, address: string, options: ListenOptions): Promise<Listener> {
  let server: NetServer;
  let listenArgs: { host?: string; port?: number; path?: string; ipv6Only?: boolean };
  if (network === 'unix') {
    if (address === '') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'empty unix socket path');
    listenArgs = { path: address };
  } else if (network === 'tcp' || network === 'tcp4' || network === 'tcp6' || network === 'http' || network === 'ws' || network === 'wss') {
    const { host, port } = splitHostPort(address);
    listenArgs = { host: host === '' ? (network === 'tcp6' ? '::' : network === 'tcp4' ? '0.0.0.0' : '::') : host, port };
  } else {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `unsupported network ${JSON.stringify(network)}`);
  }
  const fallbackRemote = network === 'unix' ? address : 'unknown';

  if (network === 'ws' || network === 'wss') {
    // Go's serveByWS: x/net websocket at rpcPath. wss needs TLS ("must set tlsconfig for wss");
    // as in Go, ws with the tls option is TLS too (tcpMakeListener).
    if (network === 'wss' && options.tls === undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'must set tlsconfig for wss');
    server = createWebSocketListener(options.tls, options.rpcPath, options.onSocket);
  } else if (network === 'http') {
    // Go's serveByHTTP. Parsed by hand: Go's client sends `CONNECT /_rpcx_ HTTP/1.0\n\n` (bare LF,
    // a path rather than an authority), which Node's HTTP parser refuses.
    // With tls, CONNECT runs inside TLS, as Go's tcpMakeListener gives http a TLS listener.
    server = options.tls === undefined
      ? createNetServer({ noDelay: true }, (s) => httpHandshake(s, options, remoteOf(s, fallbackRemote)))
      : createTlsServer(options.tls, (s) => httpHandshake(s, options, remoteOf(s, fallbackRemote)));
  } else if (options.tls !== undefined) {
    const tls = createTlsServer(options.tls, (s) => options.onSocket(s, remoteOf(s, fallbackRemote)));
    tls.on('tlsClientError', () => {
      // Go logs "TLS handshake error" and drops the connection; Node has already destroyed it.
    });
    server = tls;
  } else {
    server = createNetServer({ noDelay: true }, (s) => options.onSocket(s, remoteOf(s, fallbackRemote)));
  }

  await new Promise<void>((resolve, reject) => {
    const onErr = (err: Error): void => reject(new RpcxError(ErrorCode.CONNECTION, `listen ${network}@${address}: ${err.message}`, { cause: err }));
    server.once('error', onErr);
    server.listen(listenArgs, () => {
      server.removeListener('error', onErr);
      resolve();
    });
  });
  server.on('error', options.onError);
  const bound = formatAddress(network, server.address(), address);
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
