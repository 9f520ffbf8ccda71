// The transport seam (STYLE.md 2): a byte pipe with bytes in as an async iterable, `send`,
// half-close, close and `closed`. Message streams are written against it; the Node socket adapter
// is the one implementation today (ws, CONNECT and in-memory pairs fit behind the same shape).
import type { Duplex } from 'node:stream';
import { ErrorCode, RpcxError } from '../errors.js';
import { fromSocketError } from '../node/socket-error.js';
import { directReaderOf, type DirectReader } from '../node/direct-read.js';

/**
 * Bytes read ahead of the consumer before a direct-read socket is paused (one read buffer's
 * worth): a consumer that stalls stops the reads, and TCP flow control stops the peer.
 */
const DIRECT_HIGH_WATER_MARK = 64 * 1024;

/**
 * The byte iterator of a socket that reads through a {@link DirectReader} (`onread`, one reused
 * buffer, a copy per read): the chunks wait in a queue, and past {@link DIRECT_HIGH_WATER_MARK}
 * unread bytes the socket is paused until the consumer catches up. Ends at the peer's FIN
 * (after the queued chunks), throws `failed()` once the socket closes without one. No Readable machinery per read (the
 * socket itself emits no `'data'`), and a chunk already queued is handed out without waiting.
 */
function directIterator(socket: Duplex, reader: DirectReader, failed: () => RpcxError): AsyncIterator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let head = 0;
  let queued = 0;
  let paused = false;
  let ended = socket.readableEnded;
  let closed = socket.destroyed;
  // Consumers waiting for a chunk (one in practice: a MessageChannel pulls one at a time).
  const waiters: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: RpcxError) => void }[] = [];
  const settle = (): void => {
    if (!ended && !closed) return;
    for (const w of waiters.splice(0)) {
      if (ended) w.resolve({ done: true, value: undefined });
      else w.reject(failed());
    }
  };
  socket.once('end', () => {
    ended = true;
    if (head === queue.length) settle();
  });
  socket.once('close', () => {
    closed = true;
    settle();
  });
  reader.attach((chunk) => {
    const w = waiters.shift();
    if (w !== undefined) {
      w.resolve({ done: false, value: chunk });
      return;
    }
    queue.push(chunk);
    queued += chunk.length;
    if (!paused && queued >= DIRECT_HIGH_WATER_MARK) {
      paused = true;
      socket.pause();
    }
  });
  return {
    next: (): Promise<IteratorResult<Uint8Array>> => {
      // A socket closed without the peer's FIN (a reset, an abort) fails at once, as Readable's
      // iterator does: what was still queued is dropped.
      if (closed && !ended) return Promise.reject(failed());
      if (head < queue.length) {
        const chunk = queue[head]!;
        queue[head++] = EMPTY_CHUNK;
        queued -= chunk.length;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        if (paused && queued < DIRECT_HIGH_WATER_MARK) {
          paused = false;
          socket.resume();
        }
        return Promise.resolve({ done: false, value: chunk });
      }
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve, reject) => {
        waiters.push({ resolve, reject });
      });
    },
    return: async () => ({ done: true, value: undefined }),
  };
}

const EMPTY_CHUNK = new Uint8Array(0);

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
      // the peer's FIN, and a half-open stream must go on writing after it. A socket dialled
      // with a DirectReader (`openStream`) reads through it instead (see directIterator).
      if (nodeIt === undefined) {
        const reader = directReaderOf(socket);
        nodeIt = reader !== undefined
          ? directIterator(socket, reader, () => failure ?? fromSocketError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }), label))
          : (socket.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>);
      }
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
