// Client side of Go rpcx's stream service and file transfer (rpcx v1.9.4 client/xclient.go
// Stream :1418-1443, SendFile :1251-1330, DownloadFile :1332-1385): call for a token, dial the
// returned address verbatim (`:port` = the local host), write the 32 token bytes, then the bytes
// are the application's. Unlike Go, a cancelled or short upload rejects instead of reporting
// success, and every promise settles exactly once.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { basename } from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { ErrorCode, RpcxError } from '../errors.js';
import { toMetadataMap, type MetadataInit } from '../protocol/message.js';
import { fromSocketError } from '../node/socket-error.js';
import { downloadArgsValue, readTokenReply, streamArgsValue, transferArgsValue, type TokenReply } from './wire.js';

/** @internal How the stream helpers make the token call: `method` of the stream/file service. */
export type TokenCaller = (method: string, args: unknown, options: { serializeType: number; signal?: AbortSignal; timeoutMs?: number }) => Promise<unknown>;

/** Options of `stream()` (Go: `XClient.Stream(ctx, meta)`). */
export interface StreamOptions {
  /** Aborts the token call, the dial, and later the stream itself (the socket is destroyed). */
  signal?: AbortSignal;
  /**
   * Deadline of the token call and the dial (for `sendFile`/`downloadFile`: of the whole
   * transfer); travels as `__ServerTimeout` like Go's ctx deadline.
   */
  timeoutMs?: number;
  /** Serialize type of the token call (default: the client's). */
  serializeType?: number;
  /** Dial timeout in ms (Go: `Option.ConnectTimeout`). Default 10,000. */
  connectTimeoutMs?: number;
}

/**
 * Node's `onread` socket option (`net.connect({ onread })`), for {@link ByteStreamOptions}: the
 * kernel reads straight into `buffer` (one reused buffer, or a new one from the function after
 * every read) and `callback(nread, buf)` gets the bytes as `buf.subarray(0, nread)`; they are
 * valid only until the callback returns (the next read overwrites them). Returning `false`
 * stops reading until `stream.resume()`.
 */
export interface StreamOnRead {
  /** The buffer reads go into (its length is the most one read takes), or a function giving the next one. */
  buffer: Uint8Array | (() => Uint8Array);
  /** Called once per read with the byte count and the buffer read into. */
  callback: (nread: number, buf: Uint8Array) => boolean | void;
}

/** Options of `stream()`: {@link StreamOptions} plus the way the echo is read. */
export interface ByteStreamOptions extends StreamOptions {
  /**
   * Read the stream through Node's `onread` socket option instead of `'data'` events: no
   * allocation per read, and a buffer over 64 KiB means fewer, larger `read(2)` calls. The
   * Duplex then emits no `'data'` (and cannot be iterated or piped from); `'end'`, `'close'`,
   * `'error'` and writing are unchanged. The callback may be called before `stream()` resolves
   * (the server may answer as soon as it has the token). If it throws, the stream is destroyed
   * with that error as the `cause` of an `INTERNAL` `RpcxError` (an `RpcxError` as it is); a
   * buffer function that returns no non-empty `Uint8Array` destroys it with `INVALID_ARGUMENT`.
   * A malformed option rejects with `INVALID_ARGUMENT` before any call.
   */
  onread?: StreamOnRead;
}

/** Progress of a transfer: bytes so far and the total when known. */
export interface TransferProgress {
  bytes: number;
  total: number | undefined;
}

/** Options of `sendFile` (Go: `XClient.SendFile(ctx, fileName, rate, meta)`). */
export interface SendFileOptions extends StreamOptions {
  /** Go `meta`: arrives as `FileTransferArgs.Meta`. */
  metadata?: MetadataInit;
  /** Called as bytes are written to the connection. */
  onProgress?: (p: TransferProgress) => void;
  /** The name announced (Go: the file's base name). Required when `source` is a stream. */
  fileName?: string;
  /** The size announced. Required when `source` is a stream. */
  fileSize?: number;
}

/** Options of `downloadFile` (Go: `XClient.DownloadFile(ctx, name, saveTo, meta)`). */
export interface DownloadFileOptions extends StreamOptions {
  metadata?: MetadataInit;
  onProgress?: (p: TransferProgress) => void;
}

function cancelled(signal: AbortSignal): RpcxError {
  const r: unknown = signal.reason;
  if (r instanceof RpcxError) return r;
  return new RpcxError(ErrorCode.CANCELLED, 'stream aborted', { cause: r });
}

/** Splits a Go dial address; an empty or unspecified host means this machine (Go's net.Dial). */
export function dialTarget(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new RpcxError(ErrorCode.PROTOCOL, `stream reply: missing port in address ${JSON.stringify(addr)}`);
  let host = addr.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const ps = addr.slice(i + 1);
  const port = Number(ps);
  if (ps === '' || !Number.isInteger(port) || port <= 0 || port > 65535) throw new RpcxError(ErrorCode.PROTOCOL, `stream reply: bad port in address ${JSON.stringify(addr)}`);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return { host, port };
}

/** Checks a caller's `onread` option; Node itself would silently ignore a malformed one. */
function checkOnRead(onread: StreamOnRead): void {
  const b: unknown = onread?.buffer;
  if (typeof onread?.callback !== 'function' || (typeof b !== 'function' && !(b instanceof Uint8Array && b.byteLength > 0))) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'stream: onread needs a non-empty Uint8Array buffer (or a function returning one) and a callback');
  }
}

/** Node's `onread` around the caller's: a throwing callback or a bad buffer goes to `fail` (once per read at most). */
function socketOnRead(onread: StreamOnRead, fail: (err: RpcxError) => void): { buffer: Uint8Array | (() => Uint8Array); callback: (n: number, buf: Uint8Array) => boolean } {
  const failWith = (err: unknown): false => {
    fail(err instanceof RpcxError ? err : new RpcxError(ErrorCode.INTERNAL, `stream onread: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    return false;
  };
  const user = onread.callback;
  const gen = onread.buffer;
  return {
    buffer: typeof gen === 'function'
      ? (): Uint8Array => {
          let b: unknown;
          try {
            b = gen();
          } catch (err) {
            failWith(err);
            return new Uint8Array(1);
          }
          if (b instanceof Uint8Array && b.byteLength > 0) return b;
          failWith(new RpcxError(ErrorCode.INVALID_ARGUMENT, 'stream onread: the buffer function returned no non-empty Uint8Array'));
          return new Uint8Array(1);
        }
      : gen,
    callback: (n: number, buf: Uint8Array): boolean => {
      try {
        return user(n, buf) !== false;
      } catch (err) {
        return failWith(err);
      }
    },
  };
}

/** Dials `reply.addr` half-open capable, writes the token, resolves with the socket. */
function dialWithToken(reply: TokenReply, options: StreamOptions, userOnRead?: StreamOnRead): Promise<Socket> {
  const { host, port } = dialTarget(reply.addr);
  const timeoutMs = Math.min(options.connectTimeoutMs ?? 10_000, options.timeoutMs ?? Number.POSITIVE_INFINITY);
  return new Promise<Socket>((resolve, reject) => {
    const signal = options.signal;
    let settled = false;
    // Node asks a buffer function for the first buffer inside netConnect, before `socket` is set.
    let early: RpcxError | undefined;
    let created = false;
    const onread = userOnRead === undefined ? undefined : socketOnRead(userOnRead, (err) => {
      if (created) socket.destroy(err);
      else early ??= err;
    });
    const socket = netConnect(onread === undefined ? { host, port, allowHalfOpen: true, noDelay: true } : { host, port, allowHalfOpen: true, noDelay: true, onread });
    created = true;
    const finish = (err: RpcxError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      if (err !== undefined) {
        socket.destroy();
        return reject(err);
      }
      resolve(socket);
    };
    const onError = (err: unknown): void => finish(fromSocketError(err, reply.addr));
    const onAbort = (): void => finish(cancelled(signal!));
    const timer = setTimeout(() => finish(new RpcxError(ErrorCode.TIMEOUT, `dial ${reply.addr}: timeout after ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', onError);
    socket.once('connect', () => {
      // Go writes the token and returns: nothing answers it.
      socket.write(reply.token, (err) => {
        if (err) onError(err);
        else finish(undefined);
      });
    });
    if (early !== undefined) return finish(early);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** For file transfers, `timeoutMs` covers the whole transfer (token call, dial and bytes). */
function deadlineTimer(timeoutMs: number | undefined, started: number, onTimeout: () => void): ReturnType<typeof setTimeout> | undefined {
  if (timeoutMs === undefined) return undefined;
  return setTimeout(onTimeout, Math.max(0, timeoutMs - (performance.now() - started)));
}

/** Ties the stream's life to `signal`: an abort destroys the socket with a CANCELLED error. */
function bindSignal(socket: Socket, signal: AbortSignal | undefined): void {
  if (signal === undefined) return;
  const onAbort = (): void => {
    socket.destroy(cancelled(signal));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  socket.once('close', () => signal.removeEventListener('abort', onAbort));
}

async function token(call: TokenCaller, method: string, args: unknown, st: number, options: StreamOptions): Promise<TokenReply> {
  if (options.signal?.aborted) throw cancelled(options.signal);
  const o: { serializeType: number; signal?: AbortSignal; timeoutMs?: number } = { serializeType: st };
  if (options.signal !== undefined) o.signal = options.signal;
  if (options.timeoutMs !== undefined) o.timeoutMs = options.timeoutMs;
  return readTokenReply(await call(method, args, o), st);
}

/** @internal The `Stream` call, dial and token, without tying the socket to the signal afterwards. */
export async function openSocket(call: TokenCaller, defaultSt: number, metadata: MetadataInit | undefined, options: StreamOptions = {}, onread?: StreamOnRead): Promise<Socket> {
  if (onread !== undefined) checkOnRead(onread);
  const st = options.serializeType ?? defaultSt;
  const reply = await token(call, 'Stream', streamArgsValue(toMetadataMap(metadata), st), st, options);
  return dialWithToken(reply, options, onread);
}

/**
 * @internal Go `XClient.Stream`: `Stream` call with `{Meta}`, dial, token; resolves with the
 * connection as a half-open capable Duplex (`end()` is Go's `CloseWrite`).
 */
export async function openByteStream(call: TokenCaller, defaultSt: number, metadata: MetadataInit | undefined, options: ByteStreamOptions = {}): Promise<Duplex> {
  const socket = await openSocket(call, defaultSt, metadata, options, options.onread);
  bindSignal(socket, options.signal);
  return socket;
}

/**
 * @internal Go `XClient.SendFile`: announces `FileName` (base name) and `FileSize`, sends the
 * bytes, half-closes, and resolves with the bytes sent once the server closed its side (so the
 * server has read everything). Rejects on abort, on a short source and on a server that closes
 * early.
 */
export async function sendFileVia(call: TokenCaller, defaultSt: number, source: string | Readable, options: SendFileOptions = {}): Promise<number> {
  const st = options.serializeType ?? defaultSt;
  let name: string;
  let size: number;
  let input: Readable;
  if (typeof source === 'string') {
    const s = await stat(source).catch((err: unknown) => {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `sendFile: ${(err as Error).message}`, { cause: err });
    });
    if (!s.isFile()) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `sendFile: ${source} is not a file`);
    name = options.fileName ?? basename(source);
    size = s.size;
    input = createReadStream(source, { highWaterMark: 64 * 1024 });
  } else {
    if (options.fileName === undefined || options.fileSize === undefined) {
      source.destroy();
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'sendFile: a stream source needs fileName and fileSize');
    }
    name = options.fileName;
    size = options.fileSize;
    input = source;
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    input.destroy();
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `sendFile: bad fileSize ${size}`);
  }
  const started = performance.now();
  let socket: Socket;
  try {
    const reply = await token(call, 'TransferFile', transferArgsValue(name, size, toMetadataMap(options.metadata), st), st, options);
    socket = await dialWithToken(reply, options);
  } catch (err) {
    input.destroy();
    throw err;
  }
  return new Promise<number>((resolve, reject) => {
    let sent = 0;
    let settled = false;
    let peerClosed = false;
    const signal = options.signal;
    const timer = deadlineTimer(options.timeoutMs, started, () => finish(new RpcxError(ErrorCode.TIMEOUT, `sendFile: not done within ${options.timeoutMs} ms (${sent} of ${size} bytes sent)`)));
    const finish = (err: RpcxError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      input.destroy();
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        socket.destroy();
        resolve(sent);
      }
    };
    const onAbort = (): void => finish(cancelled(signal!));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(fromSocketError(err, 'sendFile')));
    socket.on('data', () => {
      // The server has nothing to say on an upload connection; ignore (Go does not read).
    });
    socket.on('end', () => {
      peerClosed = true;
      if (!input.readableEnded && sent < size) finish(new RpcxError(ErrorCode.CONNECTION, `sendFile: server closed after ${sent} of ${size} bytes`));
      else if (socket.writableFinished) finish(undefined);
    });
    socket.on('close', () => {
      if (sent < size) finish(new RpcxError(ErrorCode.CONNECTION, `sendFile: connection closed after ${sent} of ${size} bytes`));
      else finish(undefined);
    });
    socket.on('finish', () => {
      if (peerClosed) finish(undefined);
    });
    input.on('error', (err) => finish(RpcxError.from(err, ErrorCode.INVALID_ARGUMENT)));
    input.on('data', (chunk: Buffer) => {
      if (sent + chunk.length > size) return finish(new RpcxError(ErrorCode.INVALID_ARGUMENT, `sendFile: source is longer than the announced ${size} bytes`));
      sent += chunk.length;
      if (!socket.write(chunk)) {
        input.pause();
        socket.once('drain', () => input.resume());
      }
      options.onProgress?.({ bytes: sent, total: size });
    });
    input.on('end', () => {
      if (sent !== size) return finish(new RpcxError(ErrorCode.INVALID_ARGUMENT, `sendFile: source ended after ${sent} of the announced ${size} bytes`));
      socket.end();
    });
  });
}

/**
 * @internal Go `XClient.DownloadFile`: `DownloadFile` call, dial, token, then reads to the
 * server's close into `destination` (a path, or a Writable that is ended). Resolves with the
 * byte count (0 for a file the server does not have, as in Go).
 */
export async function downloadFileVia(call: TokenCaller, defaultSt: number, name: string, destination: string | Writable, options: DownloadFileOptions = {}): Promise<number> {
  const st = options.serializeType ?? defaultSt;
  const started = performance.now();
  const reply = await token(call, 'DownloadFile', downloadArgsValue(name, toMetadataMap(options.metadata), st), st, options);
  const socket = await dialWithToken(reply, options);
  const out = typeof destination === 'string' ? createWriteStream(destination) : destination;
  return new Promise<number>((resolve, reject) => {
    let got = 0;
    let settled = false;
    const signal = options.signal;
    const timer = deadlineTimer(options.timeoutMs, started, () => finish(new RpcxError(ErrorCode.TIMEOUT, `downloadFile: not done within ${options.timeoutMs} ms (${got} bytes received)`)));
    const finish = (err: RpcxError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err !== undefined) {
        if (typeof destination === 'string') out.destroy();
        return reject(err);
      }
      resolve(got);
    };
    const onAbort = (): void => finish(cancelled(signal!));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(fromSocketError(err, 'downloadFile')));
    out.on('error', (err: Error) => finish(RpcxError.from(err, ErrorCode.INVALID_ARGUMENT)));
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (!out.write(chunk)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
      options.onProgress?.({ bytes: got, total: undefined });
    });
    socket.on('end', () => {
      socket.end();
      out.end(() => finish(undefined));
    });
    socket.on('close', () => {
      if (!socket.readableEnded) finish(new RpcxError(ErrorCode.CONNECTION, `downloadFile: connection closed after ${got} bytes`));
    });
  });
}
