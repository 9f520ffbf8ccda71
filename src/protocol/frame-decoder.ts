import { RpcxError, ErrorCode } from '../errors.js';
import { PREFIX_LENGTH } from './constants.js';
import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  type DecodeOptions,
  type Message,
  checkMagic,
  parseBody,
  readPrefix,
} from './message.js';

/**
 * An incremental frame decoder shared by client and server (Go reads frames straight off the
 * `net.Conn` with `Message.Decode`). It takes byte chunks of any size and yields whole messages.
 *
 * - `write(chunk)` + `read()` is the exact interface: `read()` returns the next whole message,
 *   `undefined` when more bytes are needed, and throws at a bad frame only after every earlier
 *   frame has been returned.
 * - `push(chunk)` is a convenience that writes and reads everything; if a bad frame follows good
 *   ones in the same chunk, the good ones are lost with the throw, so connections use write/read.
 *
 * Limits: `maxMessageLength` is checked against the 16-byte prefix before any byte of the body is
 * buffered beyond what the chunk already holds, and before a frame buffer is allocated.
 *
 * State after an error: the decoder is dead. A byte stream has no resynchronisation point, so
 * every later `write`, `read` or `push` throws the same error again. Go closes the connection on
 * any decode error; callers do the same.
 *
 * Chunks are kept by reference, not copied, until their bytes are consumed: the caller must not
 * reuse a chunk's memory after writing it. A frame inside one chunk is decoded from that chunk
 * without copying (its payload is a view into it); a frame straddling chunks is copied once.
 *
 * Compressed frames need `options.compressors` (see `DecodeOptions`): this portable class has no
 * default table. `FrameDecoder` from `rpcx` (the Node entry) defaults to Go's, with gzip.
 */
export class FrameDecoder {
  private readonly options: DecodeOptions;
  private readonly maxMessageLength: number;
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk and the read offset in it. */
  private head = 0;
  private headOffset = 0;
  private buffered = 0;
  /** Bytes consumed so far: the stream offset of the next frame, for error messages. */
  private consumed = 0;
  /** totalLen of the frame being assembled, once its prefix has been read. */
  private pendingTotal = -1;
  private failure: RpcxError | undefined;

  constructor(options: DecodeOptions = {}) {
    this.options = options;
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
  }

  /** Bytes buffered and not yet returned as messages. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The error that killed this decoder, if any. */
  get error(): RpcxError | undefined {
    return this.failure;
  }

  /** Appends a chunk. Throws if the decoder is dead. */
  write(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Returns the next whole message, or `undefined` if more bytes are needed. */
  read(): Message | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.readOne();
    } catch (err) {
      this.failure = err instanceof RpcxError ? err : RpcxError.from(err, ErrorCode.PROTOCOL);
      this.chunks = [];
      this.head = 0;
      this.headOffset = 0;
      this.buffered = 0;
      throw this.failure;
    }
  }

  /** Writes `chunk` and returns every message now complete. */
  push(chunk: Uint8Array): Message[] {
    this.write(chunk);
    const out: Message[] = [];
    for (let m = this.read(); m !== undefined; m = this.read()) out.push(m);
    return out;
  }

  /** True when a partial frame is buffered (e.g. to report a truncated stream at close). */
  get hasPartialFrame(): boolean {
    return this.buffered > 0;
  }

  private readOne(): Message | undefined {
    if (this.pendingTotal < 0) {
      if (this.buffered < PREFIX_LENGTH) {
        // Check the magic byte as soon as it is here: Go rejects it before reading further.
        if (this.buffered > 0) checkMagic(this.chunks[this.head]![this.headOffset]!, this.consumed);
        return undefined;
      }
      const chunk = this.chunks[this.head]!;
      if (chunk.length - this.headOffset >= PREFIX_LENGTH) {
        this.pendingTotal = readPrefix(chunk, this.headOffset, this.maxMessageLength, this.consumed);
      } else {
        this.pendingTotal = readPrefix(this.peek(PREFIX_LENGTH), 0, this.maxMessageLength, this.consumed);
      }
    }
    const frameLength = PREFIX_LENGTH + this.pendingTotal;
    if (this.buffered < frameLength) return undefined;

    const chunk = this.chunks[this.head]!;
    let msg: Message;
    const base = this.consumed;
    if (chunk.length - this.headOffset >= frameLength) {
      const start = this.headOffset;
      this.advance(frameLength);
      msg = parseBody(chunk, start, this.options, base);
    } else {
      const frame = this.take(frameLength);
      msg = parseBody(frame, 0, this.options, base);
    }
    this.pendingTotal = -1;
    return msg;
  }

  /** Copies the first `n` buffered bytes without consuming them (n <= PREFIX_LENGTH). */
  private peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = this.head;
    let off = this.headOffset;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(n - filled, c.length - off);
      out.set(c.subarray(off, off + take), filled);
      filled += take;
      i++;
      off = 0;
    }
    return out;
  }

  /** Consumes `n` bytes into a fresh buffer. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.head]!;
      const avail = c.length - this.headOffset;
      const take = Math.min(n - filled, avail);
      out.set(c.subarray(this.headOffset, this.headOffset + take), filled);
      filled += take;
      this.advance(take);
    }
    return out;
  }

  /** Consumes `n` bytes that lie in the head chunk. */
  private advance(n: number): void {
    this.headOffset += n;
    this.buffered -= n;
    this.consumed += n;
    if (this.headOffset === this.chunks[this.head]!.length) {
      this.head++;
      this.headOffset = 0;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head > 64) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}

