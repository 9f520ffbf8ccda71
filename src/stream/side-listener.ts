// The second, plain-TCP listener of Go's stream service and file transfer (rpcx v1.9.4
// server/stream.go:114-167, server/file_transfer.go:135-201): a client connects, writes the
// 32-byte token it got from the RPC, and from then on the bytes are the application's. Nothing
// precedes or answers the token. Better than Go: each connection reads its token on its own with
// a deadline (Go reads tokens one at a time in the accept loop with none, so one silent client
// stalls everyone), tokens expire as well as being single-use, and a bad token closes only that
// connection, without a byte.
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { TOKEN_LENGTH } from './wire.js';

const log = createDebug('rpcx:server');

/** Options of the side listener shared by the stream service and file transfer. */
export interface SideListenerOptions {
  /**
   * `host:port` to listen on (Go: `NewStreamService(addr, ...)`/`NewFileTransfer(addr, ...)`).
   * Default `127.0.0.1:0`. Port 0 picks a free port; the reply then carries the bound port
   * (Go would send the `:0` it was given).
   */
  addr?: string;
  /**
   * Address sent to clients instead of the listen address (Go: `AdvertiseAddr`). `:port`
   * means "the host you called" to Go and TS clients alike (they dial the local host).
   */
  advertiseAddr?: string;
  /** Tokens waiting to be used before the oldest is dropped (Go: `waitNum`). Default 1024. */
  maxPendingTokens?: number;
  /** A token not used within this many ms is dropped (Go: never). Default 60,000. */
  tokenTtlMs?: number;
  /** A connection must send its 32 token bytes within this many ms (Go: no limit). Default 10,000. */
  tokenReadTimeoutMs?: number;
}

interface Pending<T> {
  value: T;
  expires: number;
}

/** @internal What a verified connection is handed to. */
export type SideHandler<T> = (socket: Socket, value: T) => void;

/**
 * @internal A listener that hands a connection to `onConnection` once it presented a valid
 * token issued by {@link SideListener.issue}. Starts lazily; `close` stops it and ends every
 * connection it accepted.
 */
export class SideListener<T> {
  readonly #options: SideListenerOptions;
  readonly #onConnection: SideHandler<T>;
  readonly #tokens = new Map<string, Pending<T>>();
  readonly #sockets = new Set<Socket>();
  #server: NetServer | undefined;
  #listening: Promise<string> | undefined;
  #closed = false;
  #sweep: ReturnType<typeof setInterval> | undefined;
  /** Connections closed for a missing, wrong, reused or expired token, or a token read timeout. */
  rejected = 0;

  constructor(options: SideListenerOptions, onConnection: SideHandler<T>) {
    this.#options = options;
    this.#onConnection = onConnection;
  }

  /** Binds the listener (once) and resolves with the address clients are told. */
  start(): Promise<string> {
    this.#listening ??= this.#listen();
    return this.#listening;
  }

  async #listen(): Promise<string> {
    if (this.#closed) throw new RpcxError(ErrorCode.CONNECTION, 'stream listener is closed');
    const addr = this.#options.addr ?? '127.0.0.1:0';
    const i = addr.lastIndexOf(':');
    if (i < 0) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `missing port in address ${JSON.stringify(addr)}`);
    let host = addr.slice(0, i);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const port = Number(addr.slice(i + 1));
    if (addr.slice(i + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `bad port in address ${JSON.stringify(addr)}`);
    }
    const server = createNetServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#accept(s));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new RpcxError(ErrorCode.CONNECTION, `stream listener ${addr}: ${err.message}`, { cause: err })));
      server.listen(host === '' ? { port } : { host, port }, () => resolve());
    });
    server.on('error', (err) => log('stream listener error: %s', err.message));
    const info = server.address() as AddressInfo;
    const ttl = this.#ttl;
    this.#sweep = setInterval(() => this.#expire(), Math.max(50, Math.min(ttl, 5_000)));
    this.#sweep.unref();
    if (this.#options.advertiseAddr !== undefined && this.#options.advertiseAddr !== '') return this.#options.advertiseAddr;
    // Go answers with the configured string; the bound port is more useful when it was 0.
    if (host === '') return `:${info.port}`;
    return info.family === 'IPv6' || info.address.includes(':') ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
  }

  get #ttl(): number {
    return Math.max(1, this.#options.tokenTtlMs ?? 60_000);
  }

  /** Issues a fresh single-use 32-byte token for `value` (Go: `cachedTokens.Add`). */
  issue(value: T): Uint8Array {
    const token = randomBytes(TOKEN_LENGTH);
    const max = Math.max(1, this.#options.maxPendingTokens ?? 1024);
    while (this.#tokens.size >= max) {
      // Go's LRU drops the oldest; a Map iterates in insertion order.
      const oldest = this.#tokens.keys().next().value as string;
      this.#tokens.delete(oldest);
    }
    this.#tokens.set(token.toString('latin1'), { value, expires: performance.now() + this.#ttl });
    return new Uint8Array(token.buffer, token.byteOffset, token.byteLength);
  }

  /** Tokens issued and not yet used or expired. */
  get pendingTokens(): number {
    return this.#tokens.size;
  }

  #expire(): void {
    const now = performance.now();
    for (const [k, p] of this.#tokens) if (p.expires <= now) this.#tokens.delete(k);
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // Always listened to: a handler that does not listen for 'error' must not take the process
    // down when its caller resets the connection.
    socket.on('error', (err) => {
      if (log.enabled) log('stream connection %s:%d: %s', socket.remoteAddress, socket.remotePort, err.message);
    });
    socket.setKeepAlive(true, 180_000);
    const reject = (why: string): void => {
      cleanup();
      this.rejected++;
      if (log.enabled) log('stream connection %s:%d rejected: %s', socket.remoteAddress, socket.remotePort, why);
      socket.destroy();
    };
    // 'readable' + read(32) rather than 'data': once the listener is removed the socket is
    // neither flowing nor paused, so the handler may read it any way it likes.
    const onReadable = (): void => {
      const tok = socket.read(TOKEN_LENGTH) as Buffer | null;
      if (tok === null) return;
      if (tok.length < TOKEN_LENGTH) return reject('closed before the token');
      const key = tok.toString('latin1');
      const p = this.#tokens.get(key);
      if (p === undefined) return reject('unknown or used token');
      this.#tokens.delete(key);
      if (p.expires <= performance.now()) return reject('expired token');
      cleanup();
      try {
        this.#onConnection(socket, p.value);
      } catch (err) {
        log('stream handler threw: %O', err);
        socket.destroy();
      }
    };
    const onEnd = (): void => reject('closed before the token');
    const onError = (): void => reject('error before the token');
    const timer = setTimeout(() => reject('token read timeout'), Math.max(1, this.#options.tokenReadTimeoutMs ?? 10_000));
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onError);
  }

  /** Stops listening, forgets every token and destroys every connection it accepted. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tokens.clear();
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server === undefined || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
