// One TCP port for every caller, as Go rpcx's `startGateway` (server/gateway.go) sets up with
// cmux: each new connection is routed once, by what it sends first — the rpcx magic byte to the
// rpcx connection loop; an HTTP/1 request with `X-JSONRPC-2.0: true` to JSON-RPC 2.0; any other
// request whose line starts with a method Go's `cmux.HTTP1Fast` knows to the HTTP gateway;
// anything else is closed without an answer. HTTP is parsed by Node's `http` module.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import createDebug from 'debug';
import { MAGIC } from '../protocol/constants.js';
import type { ServerConnection } from '../server/connection.js';
import { applyCors, type CorsOptions } from './cors.js';
import { handleGatewayRequest, methodNotAllowed } from './gateway.js';
import { httpConnection, type GatewayHost } from './handle.js';
import { headerGet, readBody, requestHeaders, type RequestHeaders } from './http-util.js';
import { handleJsonRpcRequest } from './jsonrpc.js';
import { isThenable } from './handle.js';
import { webSocketUpgrader } from '../node/websocket.js';
import { httpHandshake } from '../server/listen.js';

const log = createDebug('rpcx:server');

/** Request-line methods Go's `cmux.HTTP1Fast` routes to the gateway (cmux/matchers.go). */
const HTTP1_METHODS = new Set(['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT']);

/** Options of the HTTP side of a `tcp` port (Go: `Server.DisableHTTPGateway`, `DisableJSONRPC`, `SetCORS`). */
export interface PortDemuxOptions {
  readonly disableHTTPGateway: boolean;
  readonly disableJSONRPC: boolean;
  readonly cors: CorsOptions | undefined;
  /** Close a connection that has sent nothing for this long before it could be routed. Default 10 s. */
  readonly sniffTimeoutMs: number;
  /** Largest gateway/JSON-RPC request body. Default 64 MiB. */
  readonly maxBodyLength: number;
  /** Local address for `ctx.connection.localAddress`. */
  readonly localAddress: () => string;
  /**
   * Beyond Go: the `tcp` port also takes `CONNECT <rpcPath>` (answered as the `http` network
   * does) and the WebSocket upgrade on `rpcPath` (as the `ws` network), so one port serves every
   * caller. Off by default (Go's gateway answers CONNECT with 405).
   */
  readonly onePort: boolean;
  readonly rpcPath: string;
}

type Mode = 'gateway' | 'jsonrpc';

interface HttpConnState {
  mode: Mode | undefined;
  /** The first bytes the connection sent (to tell an HTTP request line from garbage). */
  first: Buffer;
  conn: ServerConnection | undefined;
  /** Cleared when the first request head has been parsed. */
  headTimer: ReturnType<typeof setTimeout>;
  /** The response to the latest request (busy while not finished). */
  res: ServerResponse | undefined;
  /** Requests so far, and as the idle sweep last saw them. */
  requests: number;
  swept: number;
  /** Sweeps in a row that found the connection idle with no new request. */
  idleSweeps: number;
}

/**
 * A keep-alive connection idle this long is closed (Node's default `keepAliveTimeout`, which the
 * port used before; Go's gateway sets no `IdleTimeout` and keeps it open). Checked by one sweep
 * every IDLE_SWEEP_MS, so it closes 5-6 s after its last answer.
 */
const IDLE_TIMEOUT_MS = 5000;
const IDLE_SWEEP_MS = 1000;

/** @internal The router of one `tcp` listener. */
export class PortDemux {
  readonly #host: GatewayHost;
  readonly #options: PortDemuxOptions;
  readonly #onRpcx: (socket: Socket, remote: string) => void;
  readonly #http: HttpServer;
  readonly #state = new WeakMap<Duplex, HttpConnState>();
  readonly #sockets = new Set<Socket>();
  #closing = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves the promise of close() once every HTTP connection is gone. */
  #drained: ((cut: boolean) => void) | undefined;
  #drainedPromise: Promise<boolean> | undefined;
  /** Whether the grace ran out with busy connections left (they were cut). */
  #cut = false;
  /** The idle sweep, running while HTTP connections are open. */
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  /** HTTP connections (routed to the http.Server). */
  readonly #httpSockets = new Set<Socket>();

  constructor(host: GatewayHost, options: PortDemuxOptions, onRpcx: (socket: Socket, remote: string) => void) {
    this.#host = host;
    this.#options = options;
    this.#onRpcx = onRpcx;
    this.#http = createHttpServer({ keepAlive: true }, (req, res) => this.#onRequest(req, res));
    // No per-request keep-alive timer (Node re-arms one on the socket after every answer and
    // clears it at the next request, and adds a `Keep-Alive: timeout=5` header Go does not
    // send): idle connections are found by #sweep instead.
    this.#http.keepAliveTimeout = 0;
    // Go's net/http answers unparsable requests with 400; Node's default does the same.
    this.#http.on('connect', (req: IncomingMessage, socket: Duplex) => this.#onConnect(req, socket));
    if (options.onePort) {
      const upgrade = webSocketUpgrader(options.rpcPath, (stream, remote) => onRpcx(stream as Socket, remote));
      this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const st = this.#state.get(socket);
        if (st?.mode === undefined) clearTimeout(st?.headTimer);
        // No longer an HTTP connection: not for the idle sweep.
        this.#httpSockets.delete(socket as Socket);
        upgrade(req, socket, head);
      });
    }
    this.#http.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.#onClientError(err, socket));
  }

  /** Whether anything but rpcx is served (else the port is rpcx only, as with both disabled in Go). */
  get servesHttp(): boolean {
    return !this.#options.disableHTTPGateway || !this.#options.disableJSONRPC;
  }

  /** Routes one accepted connection. */
  route(socket: Socket, remote: string): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      if (this.#closing) this.#checkDrained();
    });
    const onError = (): void => {
      socket.destroy();
    };
    socket.on('error', onError);
    socket.setTimeout(this.#options.sniffTimeoutMs, () => {
      if (log.enabled) log('%s: nothing to route after %d ms, closed', remote, this.#options.sniffTimeoutMs);
      socket.destroy();
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeListener('error', onError);
      socket.unshift(chunk);
      if (chunk[0] === MAGIC) {
        this.#sockets.delete(socket);
        this.#onRpcx(socket, remote);
        return;
      }
      if (this.#options.onePort && chunk.subarray(0, 8).toString('latin1') === 'CONNECT ') {
        // Parsed as the http network does (Node's parser refuses Go's `CONNECT /_rpcx_ HTTP/1.0\n\n`).
        this.#sockets.delete(socket);
        httpHandshake(socket, { rpcPath: this.#options.rpcPath, onSocket: (s) => this.#onRpcx(s as Socket, remote) }, remote);
        socket.resume();
        return;
      }
      if (!this.servesHttp) {
        socket.destroy();
        return;
      }
      socket.on('error', onError);
      // Until its first request head is complete, a connection has sniffTimeoutMs (Node's own
      // headersTimeout needs a listening http.Server; this one only parses).
      const headTimer = setTimeout(() => {
        if (log.enabled) log('%s: no complete HTTP request head after %d ms, closed', remote, this.#options.sniffTimeoutMs);
        socket.destroy();
      }, this.#options.sniffTimeoutMs);
      socket.once('close', () => clearTimeout(headTimer));
      this.#state.set(socket, { mode: undefined, first: chunk.subarray(0, 16), conn: undefined, headTimer, res: undefined, requests: 0, swept: 0, idleSweeps: 0 });
      this.#httpSockets.add(socket);
      socket.once('close', () => {
        this.#httpSockets.delete(socket);
        if (this.#httpSockets.size === 0) this.#stopSweep();
      });
      if (this.#sweepTimer === undefined) {
        this.#sweepTimer = setInterval(() => this.#sweep(), IDLE_SWEEP_MS);
        this.#sweepTimer.unref();
      }
      this.#http.emit('connection', socket);
      // The sniffed bytes wait in the stream's buffer: flowing again, they reach the parser on
      // the next tick, before any later bytes (Node's parser reads those from the handle itself).
      socket.resume();
    });
  }

  #connOf(socket: Duplex, st: HttpConnState): ServerConnection {
    if (st.conn === undefined) {
      const s = socket as Socket;
      const remote = s.remoteAddress === undefined ? 'unknown' : s.remoteAddress.includes(':') ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
      const conn = httpConnection(remote, this.#options.localAddress());
      socket.once('close', () => conn.destroy());
      st.conn = conn;
    }
    return st.conn;
  }

  /** The route of a connection, decided by its first request (Go's cmux matchers, in order). */
  #modeOf(req: IncomingMessage, st: HttpConnState, h: RequestHeaders): Mode | undefined {
    if (st.mode !== undefined) return st.mode;
    clearTimeout(st.headTimer);
    if (!this.#options.disableJSONRPC && headerGet(h, 'x-jsonrpc-2.0') === 'true') st.mode = 'jsonrpc';
    else if (!this.#options.disableHTTPGateway && HTTP1_METHODS.has(req.method ?? '')) st.mode = 'gateway';
    return st.mode;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const st = this.#state.get(socket);
    const h = requestHeaders(req);
    const mode = st === undefined ? undefined : this.#modeOf(req, st, h);
    if (st === undefined || mode === undefined) {
      socket.destroy();
      return;
    }
    // Busy until `res` finishes; close() and #sweep look at it (no per-request listener).
    st.res = res;
    st.requests++;
    if (this.#closing) {
      res.shouldKeepAlive = false;
      res.once('close', () => socket.end());
    }
    const cors = this.#options.cors;
    if (cors !== undefined && applyCors(cors, req, res)) return;
    if (mode === 'gateway' && req.method !== 'GET' && req.method !== 'POST' && req.method !== 'PUT') {
      req.resume();
      methodNotAllowed(res, req.method ?? '');
      return;
    }
    const conn = this.#connOf(socket, st);
    readBody(req, this.#options.maxBodyLength, (body) => {
      try {
        const done = mode === 'jsonrpc' ? handleJsonRpcRequest(this.#host, conn, h, res, body) : handleGatewayRequest(this.#host, conn, req, h, res, body);
        if (isThenable(done)) done.then(undefined, (err: unknown) => this.#failed(socket, res, err));
      } catch (err) {
        this.#failed(socket, res, err);
      }
    });
  }

  /** Closes the connections idle (latest answer sent, no request since) for IDLE_TIMEOUT_MS. */
  #sweep(): void {
    for (const s of this.#httpSockets) {
      const st = this.#state.get(s);
      if (st === undefined || st.mode === undefined) continue;
      const idle = st.res === undefined || st.res.writableFinished;
      if (!idle || st.requests !== st.swept) {
        st.swept = st.requests;
        st.idleSweeps = 0;
      } else if (++st.idleSweeps * IDLE_SWEEP_MS >= IDLE_TIMEOUT_MS) {
        if (log.enabled) log('%s: keep-alive connection idle for %d ms, closed', s.remoteAddress, IDLE_TIMEOUT_MS);
        s.destroy();
      }
    }
  }

  #stopSweep(): void {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** A bug, not an input: answer 500 rather than leave the request hanging. */
  #failed(socket: Duplex, res: ServerResponse, err: unknown): void {
    if (log.enabled) log('gateway: %O', err);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.end();
    } else {
      socket.destroy();
    }
  }

  /**
   * A request Node's parser refuses. Routed connections get net/http's answer (400, or 431 for
   * a header too large); a first request cmux could not have matched (no known method) is
   * closed without a word, as Go does.
   */
  #onClientError(err: Error & { code?: string }, socket: Duplex): void {
    const st = this.#state.get(socket);
    const first = st?.first.toString('latin1') ?? '';
    const known = st?.mode !== undefined || [...HTTP1_METHODS].some((m) => first.startsWith(m));
    if (!known || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`);
  }

  /** CONNECT reaches Node as its own event: on the gateway Go's router answers 405. */
  #onConnect(req: IncomingMessage, socket: Duplex): void {
    const st = this.#state.get(socket);
    const mode = st === undefined ? undefined : this.#modeOf(req, st, requestHeaders(req));
    if (mode !== 'gateway') {
      socket.destroy();
      return;
    }
    const body = 'Method Not Allowed\n';
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, OPTIONS, POST, PUT\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  }

  /**
   * Closes the HTTP connections (the listener itself is closed by its owner) and resolves when
   * they are all gone. With `graceMs` > 0 (graceful shutdown; Go: `http.Server.Shutdown(ctx)` of
   * the gateway and JSON-RPC servers with the shutdown's ctx) idle connections close now, busy
   * ones after their answer (sent with `Connection: close`), and whatever is left after
   * `graceMs`; with 0 everything closes at once. May be called again with 0 to cut the rest.
   * Resolves with whether the grace ran out with connections still busy (Go: `Shutdown`'s
   * `context.DeadlineExceeded`).
   */
  close(graceMs = 0): Promise<boolean> {
    this.#closing = true;
    this.#drainedPromise ??= new Promise<boolean>((resolve) => {
      this.#drained = resolve;
    });
    const destroyAll = (): void => {
      for (const s of this.#sockets) s.destroy();
    };
    if (graceMs <= 0) {
      destroyAll();
    } else if (this.#graceTimer === undefined) {
      for (const s of this.#sockets) {
        const res = this.#state.get(s)?.res;
        if (res === undefined || res.writableFinished) {
          s.destroy();
          continue;
        }
        // Busy: the answer goes out with `Connection: close` if its head is not written yet, then the socket ends.
        if (!res.headersSent) res.shouldKeepAlive = false;
        res.once('close', () => s.end());
      }
      this.#graceTimer = setTimeout(() => {
        if (this.#sockets.size > 0) this.#cut = true;
        destroyAll();
      }, graceMs);
      this.#graceTimer.unref();
    }
    this.#checkDrained();
    return this.#drainedPromise;
  }

  #checkDrained(): void {
    if (this.#sockets.size > 0 || this.#drained === undefined) return;
    clearTimeout(this.#graceTimer);
    this.#drained(this.#cut);
    this.#drained = undefined;
  }
}
