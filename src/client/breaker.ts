import { RpcxError, ErrorCode } from '../errors.js';

/** Go's `client.ErrBreakerOpen` text. */
export const BREAKER_OPEN = 'breaker open';
/** Go's `client.ErrBreakerTimeout` text. */
export const BREAKER_TIMEOUT = 'breaker time out';

/**
 * A circuit breaker (Go: `client.Breaker`). The XClient keeps one per server key when
 * `genBreaker` is set (Go: `Option.GenBreaker`), asks `ready()` before using a server (an open
 * breaker fails the selection with `breaker open`) and calls `fail()` when connecting to it
 * fails; as in Go, call errors and successes are not reported to it.
 */
export interface Breaker {
  ready(): boolean;
  fail(): void;
  success(): void;
}

/**
 * Go's `client.ConsecCircuitBreaker`: opens after `failureThreshold` consecutive failures and
 * stays open until `windowMs` have passed since the last failure, then resets. Quirks kept:
 * a reset (success, or a `ready()` after the window) also restarts the window clock, and a
 * failure while open extends it.
 */
export class ConsecCircuitBreaker implements Breaker {
  private lastFailure = -Infinity;
  private failures = 0;

  constructor(
    readonly failureThreshold: number,
    readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Runs `fn` through the breaker (Go: `Call(fn, d)`): rejects with `breaker open` when open,
   * with `breaker time out` when `timeoutMs` > 0 passes first; counts the outcome.
   */
  async call<T>(fn: () => Promise<T>, timeoutMs = 0): Promise<T> {
    if (!this.ready()) throw new RpcxError(ErrorCode.CONNECTION, BREAKER_OPEN);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const run = fn();
      const result =
        timeoutMs > 0
          ? await Promise.race([
              run,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new RpcxError(ErrorCode.TIMEOUT, BREAKER_TIMEOUT)), timeoutMs);
              }),
            ])
          : await run;
      this.success();
      return result;
    } catch (err) {
      this.fail();
      throw err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  ready(): boolean {
    if (this.now() - this.lastFailure > this.windowMs) {
      this.reset();
      return true;
    }
    return this.failures < this.failureThreshold;
  }

  success(): void {
    this.reset();
  }

  fail(): void {
    this.failures++;
    this.lastFailure = this.now();
  }

  private reset(): void {
    this.failures = 0;
    this.lastFailure = this.now();
  }
}
