import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { RpcxError, ErrorCode } from '../errors.js';
import { fromSocketError } from './socket-error.js';
import { goText } from '../go-text.js';
import { DirectReader, registerDirectReader } from './direct-read.js';
import { dialWebSocket } from './websocket.js';

/** Networks this client can dial (Go: `client.Connect`'s network argument). */
export type Network = 'tcp' | 'tcp4' | 'tcp6' | 'unix' | 'http' | 'ws' | 'wss';

/** A parsed server address: Go's XClient key `network@address` (no `@` means `tcp`). */
export interface ServerAddress {
  network: Network;
  /** `host:port` for tcp and http, a filesystem path for unix. */
  address: string;
}

/** Parses `tcp@127.0.0.1:8972`, `unix@/tmp/rpcx.sock`, `http@host:port`, `ws@host:port`, `wss@host:port` or a bare `host:port`. */
export function parseAddress(key: string): ServerAddress {
  const at = key.indexOf('@');
  const network = at < 0 ? 'tcp' : key.slice(0, at);
  const address = at < 0 ? key : key.slice(at + 1);
  if (network !== 'tcp' && network !== 'tcp4' && network !== 'tcp6' && network !== 'unix' && network !== 'http' && network !== 'ws' && network !== 'wss') {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `unsupported network ${JSON.stringify(network)} in ${JSON.stringify(key)}`);
  }
  if (address === '') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `empty address in ${JSON.stringify(key)}`);
  return { network, address };
}

/** Splits `host:port`, `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `missing port in address ${JSON.stringify(address)}`);
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `bad port in address ${JSON.stringify(address)}`);
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export interface DialOptions {
  /** Give up connecting after this many ms (Go: `Option.ConnectTimeout`, default 1 s there). Default 10 s. */
  connectTimeoutMs?: number;
  /** TLS options; when set, the connection is TLS (Go: `Option.TLSConfig`). */
  tls?: TlsConnectionOptions;
  /** Disable Nagle (default true). */
  noDelay?: boolean;
  /** TCP keep-alive initial delay in ms; 0 disables (Go: `Option.TCPKeepAlivePeriod`, 1 min). */
  keepAliveMs?: number;
  /** CONNECT path for the `http` network (Go: `Option.RPCPath`, default `/_rpcx_`). */
  rpcPath?: string;
  /** Aborts the dial. */
  signal?: AbortSignal;
}

const CONNECTED = 'HTTP/1.0 200 Connected to rpcx';

/**
 * Opens a socket to an rpcx server and resolves once it is ready for frames. For `ws`/`wss` it is
 * a WebSocket byte stream (a `Duplex`, see websocket.ts) standing in for the socket: the client
 * uses only what a Duplex has, plus `remoteAddress`/`rpcxLocation` for `__ServerAddress`.
 */
export function dial(target: ServerAddress, options: DialOptions = {}): Promise<Socket> {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  if (target.network === 'ws' || target.network === 'wss') {
    const ws = dialWebSocket(target.address, target.network === 'wss', { rpcPath: options.rpcPath ?? '/_rpcx_', timeoutMs, tls: options.tls, signal: options.signal });
    return ws as Promise<Duplex> as Promise<Socket>;
  }
  const label = `${target.network}@${target.address}`;
  return new Promise<Socket>((resolve, reject) => {
    let socket: Socket;
    let settled = false;
    const finish = (err: RpcxError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onError = (err: unknown): void => finish(fromSocketError(err, label));
    const onAbort = (): void => finish(new RpcxError(ErrorCode.CANCELLED, `dial ${label} aborted`, { cause: options.signal?.reason }));
    // Go: `dial tcp <address>: i/o timeout` (net.DialTimeout with Option.ConnectTimeout)
    const goNetwork = target.network === 'http' ? 'tcp' : target.network;
    const timer = setTimeout(() => finish(new RpcxError(ErrorCode.CONNECTION, goText(`dial ${goNetwork} ${target.address}: i/o timeout`, `connect timeout after ${timeoutMs} ms`))), timeoutMs);

    const ready = (): void => {
      socket.setNoDelay(options.noDelay ?? true);
      const ka = options.keepAliveMs ?? 60_000;
      if (ka > 0 && target.network !== 'unix') socket.setKeepAlive(true, ka);
      if (target.network !== 'http') return finish(undefined);
      // Go: newDirectHTTPConn writes "CONNECT <path> HTTP/1.0\n\n" and requires "200 Connected to rpcx".
      socket.write(`CONNECT ${options.rpcPath ?? '/_rpcx_'} HTTP/1.0\n\n`);
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\n\n') >= 0 ? head.indexOf('\n\n') + 2 : head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') + 4 : -1;
        if (end < 0) {
          if (head.length > 4096) {
            socket.removeListener('data', onData);
            finish(new RpcxError(ErrorCode.CONNECTION, `dial ${label}: CONNECT response too long`));
          }
          return;
        }
        socket.removeListener('data', onData);
        socket.pause();
        const status = head.subarray(0, end).toString('latin1').split(/\r?\n/)[0] ?? '';
        if (status !== CONNECTED) return finish(new RpcxError(ErrorCode.CONNECTION, `unexpected HTTP response: ${status}`));
        const rest = head.subarray(end);
        if (rest.length > 0) socket.unshift(rest);
        finish(undefined);
      };
      socket.on('data', onData);
    };

    // Plain tcp and unix sockets read through `onread` (see direct-read.ts); TLS and the http
    // CONNECT handshake need the stream.
    const direct = options.tls === undefined && target.network !== 'http' ? new DirectReader() : undefined;
    if (target.network === 'unix') {
      socket = netConnect(direct === undefined ? { path: target.address } : { path: target.address, onread: direct.onread }, ready);
    } else {
      const { host, port } = splitHostPort(target.address);
      const family = target.network === 'tcp4' ? 4 : target.network === 'tcp6' ? 6 : 0;
      socket = options.tls !== undefined
        ? // SNI carries host names only (RFC 6066; Node warns with DEP0123 for an IP). The
          // certificate is still checked against the IP address.
          tlsConnect({ ...(isIP(host) === 0 ? { servername: host } : {}), ...options.tls, host, port }, ready)
        : netConnect(direct === undefined ? { host, port, family } : { host, port, family, onread: direct.onread }, ready);
    }
    if (direct !== undefined) registerDirectReader(socket, direct);
    socket.on('error', onError);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
