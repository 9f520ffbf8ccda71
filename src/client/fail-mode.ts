import { ErrorCode, RpcxError, ServiceError } from '../errors.js';

/**
 * How an XClient handles a failed call (Go: `client.FailMode`, same names and values).
 * A `ServiceError` (the server answered with an error) and a timeout or cancellation are never
 * retried in any mode.
 */
export const FailMode = {
  /** Retry on a server chosen again by the selector (may be the same one), up to `retries` more times. */
  Failover: 0,
  /** One attempt; the error is returned at once. */
  Failfast: 1,
  /** Retry the same server, up to `retries` more times. */
  Failtry: 2,
  /** Send to one server; with no reply within `backupLatencyMs`, send a second request; the first to finish wins. */
  Failbackup: 3,
} as const;
export type FailMode = (typeof FailMode)[keyof typeof FailMode];

/** How an XClient picks a server (Go: `client.SelectMode`, same names and values). */
export const SelectMode = {
  /** Uniformly random. */
  RandomSelect: 0,
  /** Each server in turn. */
  RoundRobin: 1,
  /** nginx smooth weighted round robin, weight from metadata `weight`. */
  WeightedRoundRobin: 2,
  /** Weighted round robin with weights from measured round-trip times (TCP connect time here, see `WeightedRttSelector`). */
  WeightedICMP: 3,
  /** Jump consistent hash of the service path, method and args (Go's key string and node choice). */
  ConsistentHash: 4,
  /** The nearest server by `latitude`/`longitude` metadata (`configGeoSelector`). */
  Closest: 5,
  /** A custom `Selector` (option `selector` or `setSelector`). */
  SelectByUser: 1000,
} as const;
export type SelectMode = (typeof SelectMode)[keyof typeof SelectMode];

/** Go's `client.ErrXClientNoServer` text. */
export const XCLIENT_NO_SERVER = 'can not found any server';

/** Go's `FailMode.String()` / `SelectMode.String()` names, for logs. */
export function failModeName(m: number): string {
  return Object.entries(FailMode).find(([, v]) => v === m)?.[0] ?? `FailMode(${m})`;
}
export function selectModeName(m: number): string {
  return Object.entries(SelectMode).find(([, v]) => v === m)?.[0] ?? `SelectMode(${m})`;
}

/**
 * Several errors of a fan-out (Go: `errors.MultiError`); the message is Go's `[e1 e2 ...]`,
 * the code that of the first error.
 */
export class MultiError extends RpcxError {
  readonly errors: readonly RpcxError[];
  constructor(errors: readonly RpcxError[]) {
    super(errors[0]?.code ?? ErrorCode.INTERNAL, `[${errors.map((e) => e.message).join(' ')}]`);
    this.errors = errors;
  }
  override get name(): string {
    return 'MultiError';
  }
}

/** One server's outcome of `XClient.inform` (Go: `client.Receipt`). */
export interface Receipt<T = unknown> {
  /** The server address without `network@`. */
  address: string;
  reply: T | undefined;
  error: RpcxError | undefined;
}

/** What a fan-out waits for: `broadcast` (all succeed), `fork` (the first success) or `inform` (every outcome). */
export type FanOutKind = 'broadcast' | 'fork' | 'inform';

/**
 * @internal Go's `Broadcast` / `Fork` / `Inform` outcome over calls already started, one per
 * server key: broadcast resolves to a reply once all succeeded and rejects with a
 * {@link MultiError} at the first failure; fork resolves to the first success and rejects when
 * all failed; inform resolves to one {@link Receipt} per server in the order they finished.
 * `capped()` tells whether the fan-out's time cap fired (Go adds a `timeout` error then);
 * `onError` sees each failure first.
 */
export function settleFanOut<T>(kind: FanOutKind, calls: ReadonlyArray<readonly [string, Promise<T>]>, capped: () => boolean, onError?: (key: string, err: RpcxError) => void): Promise<T | Receipt<T>[]> {
  const errors: RpcxError[] = [];
  const receipts: Receipt<T>[] = [];
  let firstReply: { v: T } | undefined;
  return new Promise<T | Receipt<T>[]>((resolve, reject) => {
    let left = calls.length;
    const fail = (): void => {
      if (capped()) errors.push(new RpcxError(ErrorCode.TIMEOUT, 'timeout'));
      reject(new MultiError(errors));
    };
    for (const [k, p] of calls) {
      p.then(
        (v) => {
          firstReply ??= { v };
          receipts.push({ address: addressOf(k), reply: v, error: undefined });
          left--;
          if (kind === 'fork') resolve(v);
          else if (left === 0) resolve(kind === 'inform' ? receipts : firstReply.v);
        },
        (x: unknown) => {
          const err = RpcxError.from(x);
          onError?.(k, err);
          errors.push(err);
          receipts.push({ address: addressOf(k), reply: err instanceof ServiceError ? (err.reply as T | undefined) : undefined, error: err });
          left--;
          if (kind === 'broadcast') fail();
          else if (left === 0) {
            if (kind === 'inform') resolve(receipts);
            else fail();
          }
        },
      );
    }
  });
}

/** A server key's address without `network@` (Go's `Receipt.Address`). */
export function addressOf(k: string): string {
  const at = k.indexOf('@');
  return at < 0 ? k : k.slice(at + 1);
}
