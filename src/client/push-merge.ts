import type { Message } from '../protocol/index.js';
import { PushStream, type PushPolicy } from './push-stream.js';

/**
 * Several push sources merged into one stream under one policy (Go: several bidirectional
 * clients given the same `serverMessageChan`, as `NewBidirectionalOneClient` and
 * `NewBidirectionalXClientPool` do). The sources run under `block` (they lose nothing and stop
 * reading when the merged stream asks them to wait); the merged stream applies the caller's
 * policy, counts what it discards and drops, and ends at {@link end}.
 *
 * @internal
 */
export class PushMerge {
  private readonly stream: PushStream<Message>;

  constructor(bufferSize: number, policy: PushPolicy, private readonly label: string) {
    this.stream = new PushStream<Message>(bufferSize, policy);
  }

  /** Pumps `source` into the merged stream until it ends or the merged stream closes. */
  add(source: AsyncIterable<Message>): void {
    void this.pump(source);
  }

  private async pump(source: AsyncIterable<Message>): Promise<void> {
    for await (const msg of source) {
      while (this.stream.mustWait) await this.stream.whenResumed();
      if (this.stream.offer(msg) === 'closed') return;
    }
  }

  messages(): AsyncIterable<Message> {
    return this.stream.iterable;
  }

  onMessage(cb: (msg: Message) => void): void {
    this.stream.setCallback(cb, this.label);
  }

  get droppedMessages(): number {
    return this.stream.discardedCount + this.stream.overflowCount;
  }

  get discardedMessages(): number {
    return this.stream.discardedCount;
  }

  end(): void {
    this.stream.end();
  }
}
