import { connect, type Socket } from 'node:net';
import { FrameDecoder, createMessage, decodeMessage, encodeMessage, type Message, type MessageInit } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { parseAddress } from '../../src/node/dial.js';

/** A raw socket client for wire tests: sends frames or bytes, reads decoded frames in order. */
export class RawClient {
  readonly socket: Socket;
  readonly frames: Buffer[] = [];
  readonly messages: Message[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** Every byte received. */
  raw: Buffer = Buffer.alloc(0);
  #decoder = new FrameDecoder({ compressors: defaultCompressors, maxMessageLength: 0 });
  #waiters: (() => void)[] = [];
  #seq = 0n;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
        this.#wake();
      });
    });
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      pending = Buffer.concat([pending, chunk]);
      try {
        this.#decoder.write(chunk);
        for (let m = this.#decoder.read(); m !== undefined; m = this.#decoder.read()) {
          this.messages.push(m);
        }
      } catch {
        // not rpcx frames (e.g. an HTTP answer): kept in `raw`
        pending = Buffer.alloc(0);
      }
      // keep raw frame bytes too (split by total length)
      while (pending.length >= 16) {
        const total = 16 + pending.readUInt32BE(12);
        if (pending.length < total) break;
        this.frames.push(Buffer.from(pending.subarray(0, total)));
        pending = pending.subarray(total);
      }
      this.#wake();
    });
  }

  /** Decodes one whole frame (gzip included, no length limit). */
  static decode(frame: Uint8Array): Message {
    return decodeMessage(frame, { compressors: defaultCompressors, maxMessageLength: 0 });
  }

  static async connect(address: string): Promise<RawClient> {
    const a = parseAddress(address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = a.network === 'unix' ? connect({ path: a.address }) : connect({ host: a.address.slice(0, a.address.lastIndexOf(':')), port: Number(a.address.slice(a.address.lastIndexOf(':') + 1)) });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    return new RawClient(socket);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  nextSeq(): bigint {
    return this.#seq++;
  }

  send(init: MessageInit): bigint {
    const seq = init.seq === undefined ? this.nextSeq() : BigInt(init.seq);
    this.socket.write(encodeMessage(createMessage({ ...init, seq }), { compressors: defaultCompressors }));
    return seq;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until `n` messages have arrived (or the socket closed, or timeout). */
  async waitFor(n: number, timeoutMs = 5000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n && !this.isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages;
  }

  /** Sends one request and waits for the reply with the same seq. */
  async call(init: MessageInit, timeoutMs = 5000): Promise<Message> {
    const seq = this.send(init);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.find((x) => x.seq === seq && x.messageType === 1);
      if (m) return m;
      if (this.isClosed) throw new Error(`connection closed before reply to seq ${seq}`);
      if (Date.now() > deadline) throw new Error(`no reply to seq ${seq}`);
      await this.waitFor(this.messages.length + 1, deadline - Date.now());
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
