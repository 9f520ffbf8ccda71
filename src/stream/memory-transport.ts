// An in-memory Transport pair (STYLE.md 2): the two ends of a pipe with TCP's half-close and
// flow control, for exact, fast tests of what runs over a Transport, and for in-process streams.
import { ErrorCode, RpcxError } from '../errors.js';
import type { Transport } from './transport.js';

interface Inbound {
  chunks: Uint8Array[];
  queued: number;
  ended: boolean;
  failure: RpcxError | undefined;
  /** Wakes a reader waiting for bytes. */
  readable: (() => void) | undefined;
  /** Wake writers waiting for the queue to go under the high-water mark. */
  space: (() => void)[];
}

function inbound(): Inbound {
  return { chunks: [], queued: 0, ended: false, failure: undefined, readable: undefined, space: [] };
}

/**
 * Two connected transports: what one sends, the other reads. `send` resolves once the peer's
 * unread bytes are at most `highWaterMark` (default 64 KiB), so a reader that stops reading stops
 * an awaiting writer. `closeWrite` ends the peer's reading; `close()` stops both directions
 * (bytes already sent are still read); `close(reason)` fails both ends at once, like a reset.
 */
export function memoryTransportPair(options: { highWaterMark?: number } = {}): [Transport, Transport] {
  const hwm = options.highWaterMark ?? 64 * 1024;
  const boxes: [Inbound, Inbound] = [inbound(), inbound()];
  let failure: RpcxError | undefined;
  let closedResolve!: (e: RpcxError | undefined) => void;
  const closed = new Promise<RpcxError | undefined>((r) => (closedResolve = r));
  const wake = (b: Inbound): void => {
    const r = b.readable;
    b.readable = undefined;
    r?.();
  };
  const maybeClosed = (): void => {
    if (boxes[0].ended && boxes[1].ended && boxes[0].queued === 0 && boxes[1].queued === 0) closedResolve(failure);
  };
  const fail = (reason: RpcxError): void => {
    if (failure !== undefined) return;
    failure = reason;
    for (const b of boxes) {
      b.failure = reason;
      b.chunks = [];
      b.queued = 0;
      wake(b);
      for (const s of b.space.splice(0)) s();
    }
    closedResolve(reason);
  };
  const end = (mine: Inbound, theirs: Inbound, name: string): Transport => ({
    remoteAddress: `memory:${name}`,
    closed,
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      return {
        next: async () => {
          for (let i = 0; ; i++) {
            if (mine.failure !== undefined) throw mine.failure;
            const c = mine.chunks.shift();
            if (c !== undefined) {
              mine.queued -= c.length;
              if (mine.queued <= hwm) for (const s of mine.space.splice(0)) s();
              maybeClosed();
              return { done: false, value: c };
            }
            if (mine.ended) {
              maybeClosed();
              return { done: true, value: undefined };
            }
            await new Promise<void>((r) => (mine.readable = r));
            if (i > 1_000_000) throw new RpcxError(ErrorCode.INTERNAL, 'memory transport: reader spun');
          }
        },
        return: async () => ({ done: true, value: undefined }),
      };
    },
    send(data: Uint8Array): Promise<void> {
      if (failure !== undefined) return Promise.reject(failure);
      if (theirs.ended) return Promise.reject(new RpcxError(ErrorCode.CONNECTION, 'memory transport: send after closeWrite'));
      theirs.chunks.push(data.slice());
      theirs.queued += data.length;
      wake(theirs);
      if (theirs.queued <= hwm) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        theirs.space.push(() => (failure !== undefined ? reject(failure) : resolve()));
      });
    },
    closeWrite(): Promise<void> {
      if (failure !== undefined) return Promise.reject(failure);
      theirs.ended = true;
      wake(theirs);
      maybeClosed();
      return Promise.resolve();
    },
    close(reason?: RpcxError): void {
      if (reason !== undefined) return fail(reason);
      // Like a socket's destroy(): what was sent is still read, nothing more goes either way.
      for (const b of boxes) {
        b.ended = true;
        wake(b);
      }
      closedResolve(failure);
    },
  });
  return [end(boxes[0], boxes[1], 'a'), end(boxes[1], boxes[0], 'b')];
}
