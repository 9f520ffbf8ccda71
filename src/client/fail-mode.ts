import { ErrorCode, RpcxError } from '../errors.js';

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
