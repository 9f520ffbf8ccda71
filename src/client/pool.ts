import { RpcxError, ErrorCode } from '../errors.js';
import type { Message } from '../protocol/index.js';
import { BidirectionalOneClient, OneClient, type OneClientOptions } from './oneclient.js';
import { PushMerge } from './push-merge.js';
import { BidirectionalXClient, XClient, type XClientOptions } from './xclient.js';

function checkCount(count: number, what: string): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${what}: count must be an integer >= 1, got ${String(count)}`);
}

/**
 * Round-robin over a fixed set of members, as Go's pools pick: `Get` adds one to the index
 * first, then takes `index % count` (so the first `get()` returns member 1, not 0).
 */
abstract class RoundRobinPool<T extends { auth(token: string): void; close(): Promise<void> }> {
  protected members: T[];
  private index = 0;
  private closed = false;

  protected constructor(members: T[]) {
    this.members = members;
  }

  /** The number of members (Go: the pool's `count`). */
  get size(): number {
    return this.members.length;
  }

  /** The next member, round robin (Go: `Get`). Throws `CONNECTION` after {@link close}. */
  get(): T {
    if (this.closed) throw new RpcxError(ErrorCode.CONNECTION, 'pool is closed');
    this.index = (this.index + 1) % Number.MAX_SAFE_INTEGER;
    return this.members[this.index % this.members.length]!;
  }

  /** Sets the `__AUTH` token of every member (Go: `Auth`). */
  auth(token: string): void {
    for (const m of this.members) m.auth(token);
  }

  /** Closes every member (Go: `Close`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.members.map((m) => m.close()));
    this.onClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected onClosed(): void {}
}

/**
 * `count` XClients of one service over one discovery, handed out round robin by {@link get}
 * (Go: `client.XClientPool` from `NewXClientPool`): each has its own connections, so calls
 * spread over `count` connections per server.
 */
export class XClientPool extends RoundRobinPool<XClient> {
  readonly servicePath: string;

  constructor(count: number, servicePath: string, options: XClientOptions, make: (o: XClientOptions) => XClient = (o) => new XClient(servicePath, o)) {
    checkCount(count, 'XClientPool');
    super(Array.from({ length: count }, () => make(options)));
    this.servicePath = servicePath;
  }
}

/**
 * An {@link XClientPool} of {@link BidirectionalXClient}s whose pushes are merged into one
 * stream (Go: `NewBidirectionalXClientPool(..., serverMessageChan)`, every member given the same
 * channel), with the push rules of a {@link BidirectionalXClient}.
 */
export class BidirectionalXClientPool extends XClientPool {
  private readonly merge: PushMerge;

  constructor(count: number, servicePath: string, options: XClientOptions) {
    const merge = new PushMerge(options.pushBufferSize ?? 1024, options.pushPolicy ?? 'drop', servicePath);
    super(count, servicePath, options, (o) => {
      const xc = new BidirectionalXClient(servicePath, { ...o, pushPolicy: 'block' });
      merge.add(xc.messages());
      return xc;
    });
    this.merge = merge;
  }

  /** Pushes from every member as one async iterable; ends at `close()`. */
  messages(): AsyncIterable<Message> {
    return this.merge.messages();
  }

  /** Pushes to a callback instead (not both). */
  onMessage(cb: (msg: Message) => void): void {
    this.merge.onMessage(cb);
  }

  /** Pushes not delivered: discarded for want of a consumer plus dropped on overflow. */
  get droppedMessages(): number {
    return this.merge.droppedMessages;
  }

  protected override onClosed(): void {
    this.merge.end();
  }
}

/**
 * `count` OneClients over one discovery, handed out round robin by {@link get} (Go:
 * `client.OneClientPool` from `NewOneClientPool`).
 */
export class OneClientPool extends RoundRobinPool<OneClient> {
  constructor(count: number, options: OneClientOptions, make: (o: OneClientOptions) => OneClient = (o) => new OneClient(o)) {
    checkCount(count, 'OneClientPool');
    super(Array.from({ length: count }, () => make(options)));
  }
}

/**
 * A {@link OneClientPool} of {@link BidirectionalOneClient}s whose pushes are merged into one
 * stream (Go: `NewBidirectionalOneClientPool(..., serverMessageChan)`).
 */
export class BidirectionalOneClientPool extends OneClientPool {
  private readonly merge: PushMerge;

  constructor(count: number, options: OneClientOptions) {
    const merge = new PushMerge(options.pushBufferSize ?? 1024, options.pushPolicy ?? 'drop', 'oneclient pool');
    super(count, options, (o) => {
      const oc = new BidirectionalOneClient({ ...o, pushPolicy: 'block' });
      merge.add(oc.messages());
      return oc;
    });
    this.merge = merge;
  }

  /** Pushes from every member as one async iterable; ends at `close()`. */
  messages(): AsyncIterable<Message> {
    return this.merge.messages();
  }

  /** Pushes to a callback instead (not both). */
  onMessage(cb: (msg: Message) => void): void {
    this.merge.onMessage(cb);
  }

  /** Pushes not delivered: discarded for want of a consumer plus dropped on overflow. */
  get droppedMessages(): number {
    return this.merge.droppedMessages;
  }

  protected override onClosed(): void {
    this.merge.end();
  }
}

/** Go: `client.NewXClientPool(count, servicePath, failMode, selectMode, discovery, option)`. */
export function createXClientPool(count: number, servicePath: string, options: XClientOptions): XClientPool {
  return new XClientPool(count, servicePath, options);
}

/** Go: `client.NewBidirectionalXClientPool(...)`. */
export function createBidirectionalXClientPool(count: number, servicePath: string, options: XClientOptions): BidirectionalXClientPool {
  return new BidirectionalXClientPool(count, servicePath, options);
}

/** Go: `client.NewOneClientPool(count, failMode, selectMode, discovery, option)`. */
export function createOneClientPool(count: number, options: OneClientOptions): OneClientPool {
  return new OneClientPool(count, options);
}

/** Go: `client.NewBidirectionalOneClientPool(...)`. */
export function createBidirectionalOneClientPool(count: number, options: OneClientOptions): BidirectionalOneClientPool {
  return new BidirectionalOneClientPool(count, options);
}
