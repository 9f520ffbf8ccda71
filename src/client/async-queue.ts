import { RpcxError, ErrorCode } from '../errors.js';

/**
 * A bounded single-consumer queue exposed as an async iterable or a callback (not both), the
 * shape nats.js uses for subscriptions. `capacity` bounds what is buffered; the owner decides
 * what happens at the bound (`full` tells it), e.g. pause the socket or drop and count.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private callback: ((item: T) => void) | undefined;
  private iterating = false;
  private ended = false;
  /**
   * Called when a producer held back by a full queue may go on: a consumer took items and the
   * queue dropped below capacity again, switched to a callback, or stopped iterating.
   */
  onSpace: () => void = () => {};

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** True while a consumer is attached: an iterator was obtained (and not returned), or a callback set. */
  get hasConsumer(): boolean {
    return this.iterating || this.callback !== undefined;
  }

  /** Delivers or buffers `item`; returns false only when the queue has ended. Ignores capacity: the owner checks `full`. */
  push(item: T): boolean {
    if (this.ended) return false;
    if (this.callback !== undefined) {
      this.callback(item);
      return true;
    }
    const w = this.waiter;
    if (w !== undefined && this.size === 0) {
      this.waiter = undefined;
      w({ value: item, done: false });
      return true;
    }
    this.items.push(item);
    return true;
  }

  /** Ends the queue: buffered items are still delivered, then iteration finishes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const w = this.waiter;
    if (w !== undefined && this.size === 0) {
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Switches to callback delivery; buffered items are delivered at once. */
  setCallback(cb: (item: T) => void): void {
    if (this.iterating) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'messages are already consumed as an async iterable');
    this.callback = cb;
    while (this.size > 0) cb(this.shift());
    this.onSpace();
  }

  private shift(): T {
    const item = this.items[this.head]!;
    (this.items as Array<T | undefined>)[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.callback !== undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'messages are delivered to a callback');
    if (this.iterating) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'only one consumer may iterate');
    this.iterating = true;
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.size > 0) {
          const wasFull = this.full;
          const value = this.shift();
          if (wasFull && !this.full) this.onSpace();
          return Promise.resolve({ value, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<T>> => {
        this.iterating = false;
        this.waiter = undefined;
        // No consumer now: a producer waiting for room must not wait for ever.
        this.onSpace();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
