import createDebug from 'debug';
import { AsyncQueue } from './async-queue.js';

const log = createDebug('rpcx:client');

/**
 * What a push stream does when its consumer lags and the buffer is full (Go:
 * `Option.BidirectionalBlock`, `false` by default).
 *
 * - `drop` (default, as Go): the push is dropped and counted.
 * - `block`: the producer stops (a {@link Client} stops reading its socket) until the consumer
 *   makes room, so nothing is lost. Replies travel on the same connection: while the consumer
 *   stalls, every call on that connection waits behind the unread pushes (and its `timeoutMs`
 *   may fire). Choose it only with a consumer that keeps reading.
 *
 * Either way, pushes that arrive while no consumer is attached are discarded and counted, as Go's
 * client discards them when no channel is registered.
 */
export type PushPolicy = 'block' | 'drop';

/** What {@link PushStream.offer} did with a message. */
export type PushOutcome = 'delivered' | 'discarded' | 'dropped' | 'closed';

/**
 * The push side of a {@link Client} and of a `BidirectionalXClient`: a bounded queue read as an
 * async iterable or through a callback, with the policy of Go's client (client/client.go `input`
 * and `handleServerRequest`):
 *
 * - no consumer attached (no iterator obtained from `messages()`, no `onMessage`): discarded and
 *   counted, as Go discards a push when no `ServerMessageChan` is registered;
 * - buffer full: dropped and counted under `drop`; taken under `block`, and {@link mustWait} tells
 *   the producer to stop until {@link onResume}.
 *
 * @internal
 */
export class PushStream<T> {
  private readonly queue: AsyncQueue<T>;
  readonly policy: PushPolicy;
  private discarded = 0;
  private overflowed = 0;
  private resumeWaiters: (() => void)[] = [];
  /** Called when a producer that had to wait may go on (room, consumer gone, or stream ended). */
  onResume: () => void = () => {};

  constructor(capacity: number, policy: PushPolicy = 'drop') {
    this.queue = new AsyncQueue<T>(capacity);
    this.policy = policy;
    this.queue.onSpace = () => this.resume();
  }

  /** The stream as an async iterable (one consumer). Obtaining its iterator attaches the consumer. */
  get iterable(): AsyncIterable<T> {
    return this.queue;
  }

  /** Attaches a callback consumer; an exception it throws is logged under `label` and swallowed. */
  setCallback(cb: (item: T) => void, label: string): void {
    this.queue.setCallback((item) => {
      try {
        cb(item);
      } catch (err) {
        log('%s: onMessage callback threw: %O', label, err);
      }
    });
  }

  /** True while a consumer is attached (an iterator obtained and not returned, or a callback). */
  get hasConsumer(): boolean {
    return this.queue.hasConsumer;
  }

  get closed(): boolean {
    return this.queue.closed;
  }

  /** Messages discarded because no consumer was attached. */
  get discardedCount(): number {
    return this.discarded;
  }

  /** Messages dropped because the buffer was full under `drop`. */
  get overflowCount(): number {
    return this.overflowed;
  }

  /** True under `block` while the buffer is full: the producer must stop until {@link onResume}. */
  get mustWait(): boolean {
    return this.policy === 'block' && this.queue.full && this.queue.hasConsumer && !this.queue.closed;
  }

  /** Delivers, buffers, discards or drops `item` as the policy says (see the class comment). */
  offer(item: T): PushOutcome {
    if (this.queue.closed) return 'closed';
    if (!this.queue.hasConsumer) {
      this.discarded++;
      return 'discarded';
    }
    if (this.queue.full && this.policy === 'drop') {
      this.overflowed++;
      return 'dropped';
    }
    this.queue.push(item);
    return 'delivered';
  }

  /** Resolves at the next {@link onResume} (for a producer that can await). */
  whenResumed(): Promise<void> {
    return new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
  }

  /** Ends the stream: buffered messages are still delivered, then iteration finishes. */
  end(): void {
    this.queue.end();
    this.resume();
  }

  private resume(): void {
    const ws = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of ws) w();
    this.onResume();
  }
}
