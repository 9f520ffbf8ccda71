import { ErrorCode, RpcxError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import type { FrameConnection } from '../node/frame-connection.js';
import type { CodecRegistry } from '../codec/registry.js';
import { PeerCalls, type PeerCallOptions } from './peer-calls.js';
import type { TagIndex } from './tags.js';

let nextId = 1;
const NO_TAGS: ReadonlySet<string> = new Set();

/** The reason `ctx.signal` aborts with when the connection closes or the server closes (Go: `context.Canceled`). */
export function contextCanceled(cause?: unknown): RpcxError {
  return new RpcxError(ErrorCode.CANCELLED, 'context canceled', cause === undefined ? {} : { cause });
}

/** @internal What a connection needs of a request context it tracks (a `RequestContext`). */
export interface TrackedContext {
  /** The connection's slot for this context while its signal is tracked, else -1. */
  trackSlot: number;
  cancel(reason: RpcxError): void;
}

/** @internal Limits a connection enforces, from the server options. */
export interface ConnectionLimits {
  readonly maxInFlight: number;
  readonly maxQueuedReplyBytes: number;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

/**
 * A typed key for a value kept on a connection ({@link ServerConnection.get}/`set`), so that
 * `conn.get(User)` is typed without casts: `const User = connectionKey<{ id: string }>('user')`.
 * Keys compare by identity, not by name (two keys with one name are two slots).
 */
export interface ConnectionKey<T> {
  readonly name: string;
  /** Never set: carries `T` for the type checker. */
  readonly __type?: T;
}

/** Creates a {@link ConnectionKey}. Go: the key of a `share.Context` value, at connection scope. */
export function connectionKey<T>(name: string): ConnectionKey<T> {
  return Object.freeze({ name });
}

/** @internal What the owner of a connection (a server, or a client serving its peer) wires in. */
export interface ConnectionWiring {
  /** The owner's tag index (servers only). */
  readonly tags?: TagIndex<ServerConnection>;
  /** Codecs for calls to the peer. */
  readonly codecs: CodecRegistry;
  /** Most calls to the peer pending at once (default 10,000). */
  readonly maxPeerCalls?: number;
  /** Default deadline of a call to the peer, ms (default 30,000). */
  readonly peerCallTimeoutMs?: number;
}

/**
 * One client connection of a server (Go: the `net.Conn` in `server.RemoteConnContextKey`). Pass
 * it to `server.sendMessage` to push to that client. Handlers find it as `ctx.connection`.
 */
export class ServerConnection {
  /** A number unique in this process, for logs and maps. */
  readonly id: number = nextId++;
  /** `host:port` of the client, or the socket path for unix sockets. */
  readonly remoteAddress: string;
  /** `network@address` the connection came in on. */
  readonly localAddress: string;
  /** When the connection was accepted (`Date.now()`). */
  readonly connectedAt: number = Date.now();
  /** @internal */
  readonly frames: FrameConnection;
  /** @internal Handlers running for this connection. */
  inFlight = 0;
  /** @internal Set once the server stops reading this connection (shutdown). */
  readingStopped = false;

  readonly #limits: ConnectionLimits;
  #wiring: ConnectionWiring | undefined;
  #values: Map<unknown, unknown> | undefined;
  #tags: Set<string> | undefined;
  #calls: PeerCalls | undefined;
  /**
   * Contexts whose signal was asked for, in slots reused through `#freeSlots`. Not a `Set`: one
   * add and one delete per request make V8 rehash it over and over, and its obsolete tables link
   * to their successors, which makes every scavenge promote the live table and what it holds
   * (see src/client/pending-table.ts for the measurements).
   */
  #tracked: (TrackedContext | undefined)[] = [];
  #freeSlots: number[] = [];
  #pausedInFlight = false;
  #pausedWrite = false;
  #closed = false;
  #closeError: RpcxError | undefined;
  #closeWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastRead = performance.now();
  #congestedSince = -1;

  constructor(frames: FrameConnection, localAddress: string, limits: ConnectionLimits) {
    this.frames = frames;
    this.remoteAddress = frames.remoteAddress;
    this.localAddress = localAddress;
    this.#limits = limits;
    frames.onDrain = () => this.#onDrain();
    if (limits.readTimeoutMs > 0 || limits.writeTimeoutMs > 0) this.#armTimer();
  }

  /** @internal Called once by the owner right after construction. */
  wire(wiring: ConnectionWiring): void {
    this.#wiring = wiring;
  }

  // ---- per-connection state (cleared when the connection closes) ----

  /** The value kept under `key` on this connection, set by an earlier call on it (e.g. a login). */
  get<T>(key: ConnectionKey<T>): T | undefined {
    return this.#values?.get(key) as T | undefined;
  }

  /** Keeps `value` under `key` for later calls on this connection; ignored once it has closed. */
  set<T>(key: ConnectionKey<T>, value: T): void {
    if (this.#closed) return;
    (this.#values ??= new Map()).set(key, value);
  }

  /** Removes the value under `key`; true if there was one. */
  delete(key: ConnectionKey<unknown>): boolean {
    return this.#values?.delete(key) ?? false;
  }

  /**
   * Tags this connection (a user id, a device id) so that `server.connectionsTagged(tag)` finds
   * it and `server.sendMessageToTag(tag, ...)` pushes to it. A connection carries a bounded
   * number of tags (server option `maxTagsPerConnection`, default 16; more throw LIMIT). The
   * tags go when the connection closes. Ignored on a closed connection. Go has no counterpart:
   * Go programs keep their own `map[userID]net.Conn` (rpcx's bidirectional example).
   */
  tag(tag: string): void {
    if (this.#closed) return;
    const index = this.#wiring?.tags;
    if (index === undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'this connection has no tag index (only a server tags connections)');
    index.add(tag, this, (this.#tags ??= new Set()));
  }

  /** Removes a tag; true if the connection had it. */
  untag(tag: string): boolean {
    const index = this.#wiring?.tags;
    if (index === undefined || this.#tags === undefined) return false;
    return index.delete(tag, this, this.#tags);
  }

  /** The connection's tags. */
  get tags(): ReadonlySet<string> {
    return this.#tags ?? NO_TAGS;
  }

  /**
   * Calls a service the peer registered (`client.register`) over this connection and resolves to
   * its reply: a Request frame, not oneway, with a seq from this side's peer-call space (2^63 and
   * up), answered by a Response frame with that seq (docs/bidirectional.md). Every call has a
   * deadline (`timeoutMs`, default 30 s): a Go client never answers such a frame, so against one
   * the call ends with TIMEOUT. Rejects with `ServiceError` for an error reply, RpcxError
   * TIMEOUT, CANCELLED (signal), CONNECTION (the connection closed first), LIMIT, CODEC. Go rpcx
   * has no counterpart.
   */
  call<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options?: PeerCallOptions): Promise<T> {
    const calls = this.#peerCalls();
    if (calls === undefined) {
      return Promise.reject(new RpcxError(ErrorCode.CONNECTION, `connection ${this.remoteAddress} is closed`, { cause: this.#closeError }));
    }
    return calls.call<T>(servicePath, serviceMethod, args, options);
  }

  /** Calls to the peer awaiting their reply. */
  get pendingPeerCalls(): number {
    return this.#calls?.size ?? 0;
  }

  /** @internal A Response frame in the peer-call seq space; false if no call awaits it. */
  onPeerReply(msg: Message): boolean {
    return this.#calls?.onReply(msg) ?? false;
  }

  #peerCalls(): PeerCalls | undefined {
    if (this.#calls !== undefined) return this.#calls;
    if (this.#closed) return undefined;
    const w = this.#wiring;
    if (w === undefined) throw new RpcxError(ErrorCode.INTERNAL, 'connection not wired for calls');
    this.#calls = new PeerCalls({
      codecs: w.codecs,
      maxPending: w.maxPeerCalls ?? 10_000,
      defaultTimeoutMs: w.peerCallTimeoutMs ?? 30_000,
      peerName: this.remoteAddress,
      send: (msg) => {
        if (!this.isOpen) return new RpcxError(ErrorCode.CONNECTION, `connection ${this.remoteAddress} is closed`, { cause: this.#closeError });
        return this.frames.send(msg);
      },
    });
    return this.#calls;
  }

  /** Whether the connection is still open for writing. */
  get isOpen(): boolean {
    return !this.#closed && this.frames.isOpen;
  }

  /** Why the connection closed (`undefined` while open or after a clean close). */
  get closeError(): RpcxError | undefined {
    return this.#closeError;
  }

  /** True while written frames wait for the socket to drain (the client reads slowly). */
  get congested(): boolean {
    return this.frames.congested;
  }

  /** Resolves when the connection can take more output (not congested) or has closed. */
  drained(): Promise<void> {
    if (!this.frames.congested || !this.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Resolves once the connection has closed. */
  closed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** Closes the connection after flushing queued frames. */
  close(): void {
    this.frames.close();
  }

  /** Closes the connection at once; queued frames are dropped. */
  destroy(err?: RpcxError): void {
    this.frames.destroy(err);
  }

  /** @internal Encodes and queues one frame; applies the reply-queue bound. */
  send(msg: Message, cb?: (err?: RpcxError) => void): void {
    this.frames.send(msg, cb);
    if (!this.#pausedWrite && this.frames.queuedBytes > this.#limits.maxQueuedReplyBytes && this.isOpen) {
      // The client is not reading its replies: stop reading its requests until it does.
      this.#pausedWrite = true;
      this.frames.pauseReading();
    }
  }

  /** @internal A frame was read. */
  noteRead(): void {
    if (this.#timer !== undefined) this.#lastRead = performance.now();
  }

  /** @internal A handler started. */
  begin(): void {
    if (++this.inFlight >= this.#limits.maxInFlight && !this.#pausedInFlight) {
      this.#pausedInFlight = true;
      this.frames.pauseReading();
    }
  }

  /** @internal A handler finished. */
  end(): void {
    const n = --this.inFlight;
    if (this.#pausedInFlight && n < this.#limits.maxInFlight) {
      this.#pausedInFlight = false;
      this.frames.resumeReading();
    }
    if (n === 0 && this.#idleWaiters.length > 0) {
      const w = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** @internal Resolves when no handler runs for this connection. */
  idle(): Promise<void> {
    if (this.inFlight === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** @internal Stops reading requests for good (graceful shutdown; Go: `TCPConn.CloseRead`). */
  stopReading(): void {
    if (this.readingStopped) return;
    this.readingStopped = true;
    this.frames.pauseReading();
  }

  /**
   * @internal Graceful close: flush queued frames, send FIN, and keep reading (discarding what
   * arrives) so the peer's unread requests do not turn our close into a reset that could destroy
   * replies still in flight.
   */
  closeGracefully(): void {
    this.frames.close();
    if (this.readingStopped) this.frames.resumeReading();
  }

  /** @internal A context whose signal was asked for: aborted if the connection closes first. */
  track(ctx: TrackedContext): void {
    if (ctx.trackSlot >= 0) return;
    const slot = this.#freeSlots.pop() ?? this.#tracked.length;
    this.#tracked[slot] = ctx;
    ctx.trackSlot = slot;
  }

  /** @internal */
  untrack(ctx: TrackedContext): void {
    const slot = ctx.trackSlot;
    if (slot < 0 || this.#tracked[slot] !== ctx) return;
    this.#tracked[slot] = undefined;
    this.#freeSlots.push(slot);
    ctx.trackSlot = -1;
  }

  /** @internal Called once by the server when the socket is gone. */
  onClosed(err: RpcxError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#tags !== undefined && this.#wiring?.tags !== undefined) {
      for (const t of [...this.#tags]) this.#wiring.tags.delete(t, this, this.#tags);
    }
    this.#values = undefined;
    this.#calls?.close(new RpcxError(ErrorCode.CONNECTION, `connection ${this.remoteAddress} closed${err === undefined ? '' : `: ${err.message}`}`, err === undefined ? {} : { cause: err }));
    if (this.#tracked.length > 0) {
      const reason = contextCanceled(err);
      const tracked = this.#tracked;
      this.#tracked = [];
      this.#freeSlots = [];
      for (const ctx of tracked) {
        if (ctx === undefined) continue;
        ctx.trackSlot = -1;
        ctx.cancel(reason);
      }
    }
    for (const f of this.#closeWaiters.splice(0)) f();
    for (const f of this.#idleWaiters.splice(0)) f();
    for (const f of this.#drainWaiters.splice(0)) f();
  }

  #onDrain(): void {
    if (this.#pausedWrite && this.frames.queuedBytes <= this.#limits.maxQueuedReplyBytes / 2) {
      this.#pausedWrite = false;
      this.frames.resumeReading();
    }
    if (!this.frames.congested && this.#drainWaiters.length > 0) {
      for (const f of this.#drainWaiters.splice(0)) f();
    }
  }

  /**
   * One timer per connection, only when a read or write timeout is set. Read timeout (Go:
   * `WithReadTimeout`, a read deadline before each frame): no frame for that long closes the
   * connection, unless the server itself paused reading. Write timeout (Go: `WithWriteTimeout`):
   * output that stays blocked for that long closes the connection.
   */
  #armTimer(): void {
    const { readTimeoutMs, writeTimeoutMs } = this.#limits;
    const step = Math.max(5, Math.min(readTimeoutMs > 0 ? readTimeoutMs : Infinity, writeTimeoutMs > 0 ? writeTimeoutMs : Infinity) / 4);
    const tick = (): void => {
      if (this.#closed) return;
      const now = performance.now();
      const paused = this.#pausedInFlight || this.#pausedWrite || this.readingStopped;
      if (readTimeoutMs > 0 && !paused && now - this.#lastRead >= readTimeoutMs) {
        this.destroy(new RpcxError(ErrorCode.TIMEOUT, `read timeout: no request for ${readTimeoutMs} ms (${this.remoteAddress})`));
        return;
      }
      if (paused) this.#lastRead = now;
      if (writeTimeoutMs > 0) {
        if (!this.frames.congested) this.#congestedSince = -1;
        else if (this.#congestedSince < 0) this.#congestedSince = now;
        else if (now - this.#congestedSince >= writeTimeoutMs) {
          this.destroy(new RpcxError(ErrorCode.TIMEOUT, `write timeout: output blocked for ${writeTimeoutMs} ms (${this.remoteAddress})`));
          return;
        }
      }
      this.#timer = setTimeout(tick, step);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, step);
    this.#timer.unref();
  }
}
