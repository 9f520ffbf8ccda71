// Server side of Go rpcx's stream service (server/stream.go) and file transfer
// (server/file_transfer.go): an RPC hands out a token and the side listener's address; the
// connection that presents the token goes to the application's handler as a Node Duplex.
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { SideListener, type SideListenerOptions } from './side-listener.js';
import {
  ERR_NOT_ACCEPT,
  FILE_TRANSFER_SERVICE_NAME,
  STREAM_SERVICE_NAME,
  readDownloadArgs,
  readStreamArgs,
  readTransferArgs,
  tokenReplyValue,
  type DownloadFileArgs,
  type FileTransferArgs,
  type StreamServiceArgs,
} from './wire.js';

const log = createDebug('rpcx:server');

/** What the stream service needs of the call's context (an rpcx `RequestContext` has it all). */
export interface StreamCallContext {
  readonly request: { readonly serializeType: number };
  readonly metadata: Map<string, string>;
  readonly remoteAddress: string;
}

/** @internal The part of `RpcxServer` the stream service uses (no import of server.ts: no cycle). */
export interface StreamHost {
  registerFunction(servicePath: string, fn: (args: unknown, ctx: StreamCallContext) => unknown, name?: string): string;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Handles one stream connection (Go: `server.StreamHandler`): `stream` is the raw TCP
 * connection after the token, half-open capable (`end()` sends FIN and reading goes on). If the
 * handler throws or rejects, the connection is destroyed; otherwise it owns the connection.
 */
export type StreamHandler = (stream: Duplex, args: StreamServiceArgs, info: StreamConnectionInfo) => void | Promise<void>;

/** Where a side connection comes from. */
export interface StreamConnectionInfo {
  /** `host:port` of the side connection's peer. */
  readonly remoteAddress: string;
}

/** Options of {@link enableStreamService} (Go: `NewStreamService` plus `AdvertiseAddr`). */
export interface StreamServiceOptions extends SideListenerOptions {
  /** Service name (Go: `EnableStreamService`'s first argument). Default `_streamservice`. */
  serviceName?: string;
  /**
   * Decides whether a `Stream` call gets a token (Go: `StreamAcceptor`); a refusal answers Go's
   * `server refused the connection`.
   */
  acceptor?: (args: StreamServiceArgs, ctx: StreamCallContext) => boolean | Promise<boolean>;
}

/** A running stream service or file transfer. */
export interface SideService {
  /** The address clients are told (`host:port`, or `:port`). */
  readonly address: string;
  /** Tokens issued and not yet used or expired. */
  readonly pendingTokens: number;
  /** Connections closed for a bad, reused or late token. */
  readonly rejected: number;
  /** Stops the side listener and destroys its connections (also done when the server closes). */
  close(): Promise<void>;
}

function remoteOf(s: Socket): string {
  const a = s.remoteAddress ?? '?';
  return a.includes(':') ? `[${a}]:${s.remotePort}` : `${a}:${s.remotePort}`;
}

/** Runs `handler` for `socket`; a throw or rejection destroys the connection; `after` runs on success. */
function runHandler(socket: Socket, what: string, fn: () => void | Promise<void>, after?: () => void): void {
  const fail = (err: unknown): void => {
    if (log.enabled) log('%s handler failed: %O', what, err);
    socket.destroy();
  };
  try {
    const r = fn();
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(() => after?.(), fail);
    } else {
      after?.();
    }
  } catch (err) {
    fail(err);
  }
}

function handle(listener: SideListener<unknown>, address: string): SideService {
  return {
    address,
    get pendingTokens() {
      return listener.pendingTokens;
    },
    get rejected() {
      return listener.rejected;
    },
    close: () => listener.close(),
  };
}

/**
 * Enables Go's stream service on `server` (Go: `Server.EnableStreamService`): registers
 * `_streamservice.Stream`, which answers a 32-byte single-use token and the side listener's
 * address, and starts that listener (plain TCP, never TLS, as in Go). Resolves once it listens;
 * a listen error rejects (Go swallows it).
 */
export async function enableStreamService(server: StreamHost, handler: StreamHandler, options: StreamServiceOptions = {}): Promise<SideService> {
  const listener = new SideListener<StreamServiceArgs>(options, (socket, args) => {
    runHandler(socket, 'stream', () => handler(socket, args, { remoteAddress: remoteOf(socket) }));
  });
  const address = await listener.start();
  server.once('close', () => void listener.close());
  const acceptor = options.acceptor;
  server.registerFunction(
    options.serviceName ?? STREAM_SERVICE_NAME,
    async (raw: unknown, ctx: StreamCallContext) => {
      const st = ctx.request.serializeType;
      const args = readStreamArgs(raw, st);
      if (acceptor !== undefined && !(await acceptor(args, ctx))) throw new Error(ERR_NOT_ACCEPT);
      return tokenReplyValue({ token: listener.issue(args), addr: address }, st);
    },
    'Stream',
  );
  return handle(listener as SideListener<unknown>, address);
}

/** Handles an upload (Go: `server.FileTransferHandler`): read `stream` to its end. */
export type UploadHandler = (stream: Duplex, args: FileTransferArgs, info: StreamConnectionInfo) => void | Promise<void>;
/** Handles a download (Go: `server.DownloadFileHandler`): write the file to `stream`. */
export type DownloadHandler = (stream: Duplex, args: DownloadFileArgs, info: StreamConnectionInfo) => void | Promise<void>;

/** Options of {@link enableFileTransfer} (Go: `NewFileTransfer`). */
export interface FileTransferOptions extends SideListenerOptions {
  /** Service name (Go: `EnableFileTransfer`'s first argument). Default `_filetransfer`. */
  serviceName?: string;
  /** Upload handler; without one an upload connection is closed at once, as in Go. */
  upload?: UploadHandler;
  /** Download handler; without one the client reads 0 bytes, as in Go. */
  download?: DownloadHandler;
  /** `TransferFile` with a larger `FileSize` fails with `LIMIT` before any byte is sent. Default unlimited. */
  maxFileSize?: number;
}

type Transfer = { kind: 'upload'; args: FileTransferArgs } | { kind: 'download'; args: DownloadFileArgs };

/**
 * Enables Go's file transfer on `server` (Go: `Server.EnableFileTransfer`): registers
 * `_filetransfer.TransferFile` and `_filetransfer.DownloadFile`, each answering a token and the
 * side listener's address. When a handler resolves, the connection is ended for it (Go leaves
 * that to the handler); when it throws, the connection is destroyed.
 */
export async function enableFileTransfer(server: StreamHost, options: FileTransferOptions = {}): Promise<SideService> {
  const listener = new SideListener<Transfer>(options, (socket, t) => {
    const info = { remoteAddress: remoteOf(socket) };
    const end = (): void => {
      if (!socket.destroyed) socket.end();
    };
    if (t.kind === 'upload') {
      const h = options.upload;
      if (h === undefined) return void socket.destroy();
      runHandler(socket, 'upload', () => h(socket, t.args, info), end);
    } else {
      const h = options.download;
      if (h === undefined) return void socket.end();
      runHandler(socket, 'download', () => h(socket, t.args, info), end);
    }
  });
  const address = await listener.start();
  server.once('close', () => void listener.close());
  const name = options.serviceName ?? FILE_TRANSFER_SERVICE_NAME;
  const max = options.maxFileSize;
  server.registerFunction(
    name,
    (raw: unknown, ctx: StreamCallContext) => {
      const st = ctx.request.serializeType;
      const args = readTransferArgs(raw, st);
      if (max !== undefined && args.fileSize > max) throw new RpcxError(ErrorCode.LIMIT, `file size ${args.fileSize} exceeds the limit of ${max} bytes`);
      return tokenReplyValue({ token: listener.issue({ kind: 'upload', args }), addr: address }, st);
    },
    'TransferFile',
  );
  server.registerFunction(
    name,
    (raw: unknown, ctx: StreamCallContext) => {
      const st = ctx.request.serializeType;
      const args = readDownloadArgs(raw, st);
      return tokenReplyValue({ token: listener.issue({ kind: 'download', args }), addr: address }, st);
    },
    'DownloadFile',
  );
  return handle(listener as SideListener<unknown>, address);
}
