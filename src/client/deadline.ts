import { RpcxError, ErrorCode } from '../errors.js';
import { CONTEXT_CANCELED, DEADLINE_EXCEEDED, goText } from '../go-text.js';

/** The deadline options every call takes (STYLE.md 5). */
export interface DeadlineOptions {
  /** Relative deadline in ms. */
  timeoutMs?: number;
  /** Absolute deadline: a `Date` or epoch ms (`Date.now()` scale), as grpc-js's `deadline`. */
  deadline?: Date | number;
}

/**
 * The timeout of a call in ms from now, from `timeoutMs` and `deadline` (the earlier wins, as Go's
 * `context.WithTimeout` on a ctx that already has a deadline); `undefined` when neither is given.
 * A deadline already past gives 0. Throws INVALID_ARGUMENT for a deadline that is not a valid time.
 *
 * @internal
 */
export function callTimeoutMs(options: DeadlineOptions): number | undefined {
  const d = options.deadline;
  let ms = options.timeoutMs;
  if (d !== undefined) {
    const at = typeof d === 'number' ? d : d instanceof Date ? d.getTime() : NaN;
    if (!Number.isFinite(at)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `deadline must be a Date or epoch ms, got ${String(d)}`);
    const left = Math.max(0, at - Date.now());
    ms = ms === undefined ? left : Math.min(ms, left);
  }
  return ms;
}

/**
 * The error of a call whose signal aborted: the reason itself if it is an `RpcxError`; TIMEOUT
 * if the reason is a `TimeoutError` (what `AbortSignal.timeout(ms)` gives: JavaScript's way to
 * say "deadline", Go's `context.DeadlineExceeded`); CANCELLED otherwise (Go: `context.Canceled`).
 *
 * @internal
 */
export function abortError(signal: AbortSignal): RpcxError {
  const reason: unknown = signal.reason;
  if (reason instanceof RpcxError) return reason;
  if (isTimeoutReason(reason)) {
    return new RpcxError(ErrorCode.TIMEOUT, goText(DEADLINE_EXCEEDED, `call timed out: ${(reason as Error).message}`), { cause: reason });
  }
  return new RpcxError(ErrorCode.CANCELLED, goText(CONTEXT_CANCELED, 'call cancelled'), { cause: reason });
}

function isTimeoutReason(reason: unknown): boolean {
  // A DOMException named TimeoutError (AbortSignal.timeout); also a plain Error so named.
  return typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
}
