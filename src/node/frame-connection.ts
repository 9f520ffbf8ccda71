import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { RpcxError, ErrorCode } from '../errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { encodeMessage, type DecodeOptions, type Message } from '../protocol/message.js';
import type { CompressorTable } from '../protocol/compress.js';
import { fromSocketError } from './socket-error.js';
import { ERR_SHUTDOWN, UNEXPECTED_EOF, goText } from '../go-text.js';
import { directReaderOf } from './direct-read.js';
import { afterRead } from './keep-hot.js';

const log = createDebug('rpcx:conn');

export interface FrameConnectionOptions extends DecodeOptions {
  compressors: CompressorTable;
  /** Frames queued beyond this many bytes while the socket is not draining make `send` fail with LIMIT. Default 256 MiB. */
  maxQueuedBytes?: number;
  /** After a read, keep the event loop polling this many microseconds while `awaiting()` is above 0 (see keep-hot.ts). Default 0. */
  spinUs?: number;
  /**
   * Frames that still await the peer's answer, queued ones included (the client: its pending
   * calls). Above 0, more input is expected (so a read may spin, see `spinUs`); at 1 when a frame
   * is queued, that frame is the only one, the peer has nothing to work on, and the frame is
   * written at once instead of waiting for the rest of the batch.
   */
  awaiting?: () => number;
}

type WriteCallback = (err?: RpcxError) => void;

/**
 * Queued frames that are flushed at once instead of at the end of the event-loop turn. A turn
 * that decodes a big chunk (64 requests, say) would otherwise answer all of it in one write after
 * handling all of it, and the peer would wait for the whole batch: both sides take turns, and
 * two cores do the work of one. Flushing every 16 frames lets the peer start on the first part
 * (bench/run.ts, T cell at c = 64: 184k -> 357k calls/s for raw100, 31k -> 78k for benchmark581).
 */
const EARLY_FLUSH_FRAMES = 16;
const EARLY_FLUSH_BYTES = 64 * 1024;
/**
 * Also flushed once the oldest queued frame has waited this long (ms): when each frame costs
 * real work (protobuf: about 6 us to encode or decode a 581-byte message), 16 frames are a
 * quarter of a millisecond, and the peer would sit idle for it. bench T cell, benchmark581,
 * c = 16: 30-35k -> 63-78k calls/s; raw100 unchanged (its batches fill 16 frames sooner).
 */
const EARLY_FLUSH_MS = 0.02;
/*
 * And a frame is written at once when it is the only one the peer owes us an answer for (the
 * `awaiting` option; the client passes its pending calls). At c = 16 the client read all 16
 * replies in one chunk, and its 16 new requests went out together only after all were made: the
 * server sat idle meanwhile, then the client while the server answered, so the two sides took
 * turns. Writing the first request at once lets the server start on it. bench T cell, raw100,
 * 6 interleaved runs: c = 16 104k -> 123k calls/s; c = 64 and 256 unchanged (there the peer
 * always has work, so the rule does not fire).
 */

/**
 * A socket that carries rpcx frames, shared by client and server. Incoming bytes go through one
 * `FrameDecoder`; outgoing frames are queued and flushed once per event-loop turn in one write
 * (write coalescing), and the writer respects `write()`'s backpressure by waiting for `drain`.
 * Reading can be paused (for a push consumer that lags, or a server over its in-flight bound).
 * Any decode error destroys the socket, as Go closes the connection.
 */
export class FrameConnection {
  readonly socket: Duplex;
  readonly remoteAddress: string;
  /** Called for every decoded message, in order. */
  onMessage: (msg: Message) => void = () => {};
  /** Called once when the connection is gone; `err` is set unless it was closed on purpose. */
  onClose: (err: RpcxError | undefined) => void = () => {};
  /** Called when queued output has been handed to the OS after a backpressure wait. */
  onDrain: () => void = () => {};

  private readonly decoder: FrameDecoder;
  private readonly compressors: CompressorTable;
  private readonly maxQueuedBytes: number;
  private queue: Uint8Array[] = [];
  private queueBytes = 0;
  private callbacks: WriteCallback[] = [];
  private flushScheduled = false;
  private batchStart = 0;
  private waitingDrain = false;
  private paused = 0;
  private closed = false;
  private closing = false;
  private closeError: RpcxError | undefined;
  private readonly flushNow = (): void => this.flush();
  private readonly spinMs: number;
  private readonly awaiting: (() => number) | undefined;

  constructor(socket: Duplex, remoteAddress: string, options: FrameConnectionOptions) {
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.compressors = options.compressors;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 256 * 1024 * 1024;
    this.spinMs = Math.max(0, options.spinUs ?? 0) / 1000;
    this.awaiting = options.awaiting;
    this.decoder = new FrameDecoder(options);
    const direct = directReaderOf(socket);
    if (direct !== undefined) direct.attach((chunk) => this.onData(chunk));
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingDrain = false;
      if (this.queue.length > 0) this.flush();
      this.onDrain();
    });
    socket.on('error', (err) => {
      if (this.closeError === undefined) this.closeError = fromSocketError(err, remoteAddress);
    });
    socket.on('end', () => {
      // The peer closed its side. Go treats EOF as a dead connection: so do we.
      if (this.closeError === undefined && !this.closing) {
        const partial = this.decoder.hasPartialFrame ? ' in the middle of a frame' : '';
        this.closeError = new RpcxError(ErrorCode.CONNECTION, goText(UNEXPECTED_EOF, `connection closed by peer${partial}, ${remoteAddress}`));
      }
      socket.end();
    });
    socket.on('close', () => this.finish());
    if (socket.isPaused()) socket.resume();
  }

  /** Whether the connection can still send. */
  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  /** True while the socket buffer is full and frames are waiting for `drain`. */
  get congested(): boolean {
    return this.waitingDrain;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.queueBytes + this.socket.writableLength;
  }

  /**
   * Encodes and queues a message. `cb` runs once the frame is handed to the OS or the connection
   * fails. Without `cb`, a frame that cannot be queued (connection closed, output over its limit)
   * is returned as an error instead, so a caller that tracks its own failures (the client fails
   * every pending call when the connection closes) needs no closure per frame.
   */
  send(msg: Message, cb?: WriteCallback): RpcxError | undefined {
    let frame: Uint8Array;
    try {
      frame = encodeMessage(msg, { compressors: this.compressors });
    } catch (err) {
      const e = RpcxError.from(err, ErrorCode.INTERNAL);
      if (cb) cb(e);
      else throw e;
      return undefined;
    }
    return this.sendFrame(frame, cb);
  }

  /** Queues an encoded frame (see `send`). */
  sendFrame(frame: Uint8Array, cb?: WriteCallback): RpcxError | undefined {
    if (this.closed || this.closing) {
      const err = this.closeError ?? new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `connection to ${this.remoteAddress} is closed`));
      if (cb) queueMicrotask(() => cb(err));
      return err;
    }
    if (this.queueBytes + frame.length > this.maxQueuedBytes && this.queueBytes > 0) {
      const err = new RpcxError(ErrorCode.LIMIT, `more than ${this.maxQueuedBytes} bytes queued for ${this.remoteAddress}`);
      if (cb) queueMicrotask(() => cb(err));
      return err;
    }
    const n = this.queue.push(frame);
    this.queueBytes += frame.length;
    if (cb) this.callbacks.push(cb);
    if (this.waitingDrain) return undefined;
    const now = performance.now();
    if (n === 1) this.batchStart = now;
    if (n >= EARLY_FLUSH_FRAMES || this.queueBytes >= EARLY_FLUSH_BYTES || now - this.batchStart >= EARLY_FLUSH_MS || (n === 1 && this.awaiting !== undefined && this.awaiting() <= 1)) {
      // A long batch (many frames decoded from one chunk), or a peer with nothing else to do: hand
      // this part to the OS now, so the peer starts on it while we go on with the rest, instead
      // of both sides taking turns.
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
    return undefined;
  }

  /** Resolves once everything queued so far has been handed to the OS. */
  flushed(): Promise<void> {
    if (this.queue.length === 0 && this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.queue.length === 0) this.socket.write(new Uint8Array(0), () => resolve());
      else this.callbacks.push(() => resolve());
    });
  }

  /** Stops delivering messages and reading the socket until `resumeReading` (nested calls count). */
  pauseReading(): void {
    if (this.paused++ === 0) this.socket.pause();
  }

  resumeReading(): void {
    if (this.paused === 0) return;
    if (--this.paused === 0) {
      this.socket.resume();
      this.drainDecoder();
    }
  }

  /** Flushes queued frames, then ends the socket. */
  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.flush();
    this.socket.end();
    // A peer that never reads must not keep us half-open forever.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** Destroys the socket at once; pending writes fail with `err`. */
  destroy(err?: RpcxError): void {
    if (this.closed) return;
    if (err !== undefined && this.closeError === undefined) this.closeError = err;
    this.closing = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.write(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.drainDecoder();
    // Spinning pays only when reads follow each other closely (a peer that writes each reply on
    // its own, as Go does); see keep-hot.ts.
    if (this.spinMs > 0) afterRead(this.spinMs, this.awaiting !== undefined && this.awaiting() > 0);
  }

  private drainDecoder(): void {
    while (this.paused === 0 && !this.closed) {
      let msg: Message | undefined;
      try {
        msg = this.decoder.read();
      } catch (err) {
        this.fail(err);
        return;
      }
      if (msg === undefined) return;
      this.onMessage(msg);
    }
  }

  private fail(err: unknown): void {
    const e = RpcxError.from(err, ErrorCode.PROTOCOL);
    if (log.enabled) log('%s: closing after %s', this.remoteAddress, e.message);
    this.destroy(e);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.closed) return;
    const frames = this.queue;
    const cbs = this.callbacks;
    const bytes = this.queueBytes;
    this.queue = [];
    this.callbacks = [];
    this.queueBytes = 0;
    const done =
      cbs.length === 0
        ? undefined
        : (err?: Error | null): void => {
            const e = err ? fromSocketError(err, this.remoteAddress) : undefined;
            for (const cb of cbs) cb(e);
          };
    let ok: boolean;
    if (frames.length === 1) {
      ok = this.socket.write(frames[0]!, done);
    } else if (bytes <= 256 * 1024) {
      const buf = Buffer.allocUnsafe(bytes);
      let p = 0;
      for (const f of frames) {
        buf.set(f, p);
        p += f.length;
      }
      ok = this.socket.write(buf, done);
    } else {
      this.socket.cork();
      for (let i = 0; i < frames.length - 1; i++) this.socket.write(frames[i]!);
      ok = this.socket.write(frames[frames.length - 1]!, done);
      this.socket.uncork();
    }
    if (!ok) this.waitingDrain = true;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const err = this.closing && this.closeError === undefined ? undefined : (this.closeError ?? new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `connection to ${this.remoteAddress} closed`)));
    const cbs = this.callbacks;
    this.callbacks = [];
    this.queue = [];
    this.queueBytes = 0;
    const failErr = err ?? new RpcxError(ErrorCode.CONNECTION, goText(ERR_SHUTDOWN, `connection to ${this.remoteAddress} closed`));
    for (const cb of cbs) cb(failErr);
    this.onClose(err);
  }
}
