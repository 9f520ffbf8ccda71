import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { ErrorCode, RpcxError } from '../errors.js';

/** Networks a server can listen on (Go: `Server.Serve`'s network argument). */
export type ServeNetwork = 'tcp' | 'tcp4' | 'tcp6' | 'unix' | 'http';

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
  } else if (network === 'tcp' || network === 'tcp4' || network === 'tcp6' || network === 'http') {
    const { host, port } = splitHostPort(address);
    listenArgs = { host: host === '' ? (network === 'tcp6' ? '::' : network === 'tcp4' ? '0.0.0.0' : '::') : host, port };
  } else {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `unsupported network ${JSON.stringify(network)}`);
  }
  const fallbackRemote = network === 'unix' ? address : 'unknown';

  if (network === 'http') {
    const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== options.rpcPath) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('404 page not found\n');
        return;
      }
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('405 must CONNECT\n');
    });
    http.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const s = socket as Socket;
      if ((req.url ?? '') !== options.rpcPath) {
        s.end('HTTP/1.0 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n404 page not found\n');
        return;
      }
      s.setTimeout(0);
      s.write(CONNECTED);
      if (head.length > 0) s.unshift(head);
      options.onSocket(s, remoteOf(s, fallbackRemote));
    });
    server = http;
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
