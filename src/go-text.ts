/**
 * Go's words for client-side failures (rpcx v1.9.4 `client/client.go`, `client/xclient.go`,
 * Go's `context` and `net` packages): an `RpcxError`'s message starts with the text Go's client
 * gives for the same condition, followed by our detail in parentheses, so logs and string
 * checks ported from Go read alike. The codes stay ours. Imports nothing.
 *
 * @internal
 */

/** Go: `context.DeadlineExceeded.Error()`. */
export const DEADLINE_EXCEEDED = 'context deadline exceeded';
/** Go: `context.Canceled.Error()`. */
export const CONTEXT_CANCELED = 'context canceled';
/** Go: `client.ErrShutdown` — a call on a client that is closing or closed. */
export const ERR_SHUTDOWN = 'connection is shut down';
/** Go: `io.ErrUnexpectedEOF`, what the pending calls of a connection the server closed get. */
export const UNEXPECTED_EOF = 'unexpected EOF';

/** Go's `syscall.Errno` texts (Linux) for the Node error codes a socket reports. */
export const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'software caused connection abort',
  EPIPE: 'broken pipe',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ENOENT: 'no such file or directory',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EACCES: 'permission denied',
};

/** `text (detail)`: Go's text first, then ours. */
export function goText(text: string, detail: string | undefined): string {
  return detail === undefined || detail === '' ? text : `${text} (${detail})`;
}
