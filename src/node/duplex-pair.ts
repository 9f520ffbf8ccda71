import { Duplex } from 'node:stream';

/**
 * Two connected in-memory Node streams: what one writes, the other reads, with backpressure (a
 * write completes once the peer has room to buffer it) and TCP-like ends: `end()` on one side
 * ends the other's reading; `destroy()` on one side closes the other. For serving and calling
 * over a connection without a socket (`server.serveConnection(a)`, `Client.fromDuplex(b)`), in
 * tests and in-process. Node 22's `stream.duplexPair` does the same; this one runs on Node 20.
 */
export function duplexPair(options: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const a = new PairSide(options.highWaterMark);
  const b = new PairSide(options.highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class PairSide extends Duplex {
  peer!: PairSide;
  /** The callback of a write the peer has no room for yet. */
  #blocked: ((err?: Error | null) => void) | undefined;

  constructor(highWaterMark: number | undefined) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
  }

  override _read(): void {
    // The reader wants more: release the peer's blocked write.
    const cb = this.peer.#blocked;
    this.peer.#blocked = undefined;
    cb?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.destroyed) {
      cb(new Error('write after the peer closed'));
      return;
    }
    if (this.peer.push(chunk)) cb();
    else this.#blocked = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const blocked = this.#blocked;
    this.#blocked = undefined;
    blocked?.(err ?? new Error('stream destroyed'));
    // The peer sees its connection go, as a TCP peer sees a reset/close.
    if (!this.peer.destroyed) queueMicrotask(() => this.peer.destroy());
    cb(err);
  }
}
