// The transport seam (STYLE.md 2): a byte pipe with bytes in as an async iterable, `send`,
// half-close, close and `closed`. Message streams are written against it; the Node socket adapter
// is the one implementation today (ws, CONNECT and in-memory pairs fit behind the same shape).
import type { Duplex } from 'node:stream';
import { ErrorCode, RpcxError } from '../errors.js';
import { fromSocketError } from '../node/socket-error.js';

/**
 * A bidirectional byte transport. Reading is pull-based: bytes are read only as fast as the
 * iterator is consumed, so a stalled consumer stalls the peer's writer (TCP flow control).
 */
export interface Transport {
  /** Bytes from the peer; ends at the peer's half-close, throws an `RpcxError` on failure. One iterator only. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  /** Queues bytes; resolves once the transport's buffer is under its high-water mark again. */
  send(data: Uint8Array): Promise<void>;
  /** Half-closes after everything queued was written (TCP FIN); reading goes on. */
  closeWrite(): Promise<void>;
  /** Closes at once both ways; with a reason the peer sees an abort (TCP RST) where possible. */
  close(reason?: RpcxError): void;
  /** Resolves when the transport is fully closed: with the error that closed it, if any. */
  readonly closed: Promise<RpcxError | undefined>;
  /** `host:port` of the peer, for messages. */
  readonly remoteAddress: string;
}

/** Wraps a Node socket (any Duplex; `allowHalfOpen` must be on to keep writing after the peer's FIN). */
export function socketTransport(socket: Duplex & { remoteAddress?: string | undefined; remotePort?: number | undefined; resetAndDestroy?: () => unknown }): Transport {
  const label = socket.remoteAddress === undefined ? 'stream' : `${socket.remoteAddress}:${socket.remotePort ?? '?'}`;
  let failure: RpcxError | undefined;
  socket.on('error', (err) => {
    failure ??= fromSocketError(err, label);
  });
  const closed = new Promise<RpcxError | undefined>((resolve) => {
    if (socket.destroyed) return resolve(failure);
    socket.once('close', () => resolve(failure));
  });
  let nodeIt: AsyncIterator<Uint8Array> | undefined;
  let corked = false;
  const gone = (): RpcxError => failure ?? new RpcxError(ErrorCode.CONNECTION, `stream ${label} is closed`);
  return {
    remoteAddress: label,
    closed,
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      // One reader over the socket for the transport's life: a later iterator goes on where an
      // earlier one stopped. destroyOnReturn false: Readable's own iterator destroys the socket at
      // the peer's FIN, and a half-open stream must go on writing after it.
      nodeIt ??= socket.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>;
      const it = nodeIt;
      return {
        next: async () => {
          try {
            return await it.next();
          } catch (err) {
            throw failure ?? fromSocketError(err, label);
          }
        },
        return: async () => {
          // Stop this loop without touching the socket.
          return { done: true, value: undefined };
        },
      };
    },
    send(data: Uint8Array): Promise<void> {
      if (socket.destroyed || socket.writableEnded) return Promise.reject(gone());
      // Coalesce the frames of one event-loop turn into one writev (STYLE.md 8).
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      return new Promise<void>((resolve, reject) => {
        let ok = false;
        try {
          ok = socket.write(data);
        } catch (err) {
          return reject(fromSocketError(err, label));
        }
        if (ok) return resolve();
        const onDrain = (): void => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off('drain', onDrain);
          reject(gone());
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    },
    closeWrite(): Promise<void> {
      if (socket.destroyed) return Promise.reject(gone());
      if (socket.writableFinished) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onFinish = (): void => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off('finish', onFinish);
          if (socket.writableFinished) resolve();
          else reject(gone());
        };
        socket.once('finish', onFinish);
        socket.once('close', onClose);
        socket.end();
      });
    },
    close(reason?: RpcxError): void {
      if (socket.destroyed) return;
      if (reason !== undefined) failure ??= reason;
      if (reason !== undefined && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    },
  };
}
