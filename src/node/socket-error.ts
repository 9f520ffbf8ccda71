import { RpcxError, ErrorCode } from '../errors.js';
import { ERRNO_TEXT, goText } from '../go-text.js';

const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT',
  'EADDRNOTAVAIL',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
]);

/**
 * Maps a Node socket error to an `RpcxError` (STYLE.md 7: one place for ECONNRESET, EPIPE,
 * ECONNREFUSED, ...). RpcxErrors pass through unchanged; TLS failures are CONNECTION errors too.
 *
 * The message starts with Go's text for the same failure (see `go-text.ts`): a failed dial
 * `dial tcp 127.0.0.1:1: connect: connection refused` (Go's `net.OpError`), a failed read or
 * write `net.OpError: read: connection reset by peer` (what rpcx's `client.go` makes of it),
 * then the Node code and `address` in parentheses.
 */
export function fromSocketError(err: unknown, address?: string): RpcxError {
  if (err instanceof RpcxError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const where = address === undefined ? '' : ` (${address})`;
  const errno = typeof code === 'string' ? ERRNO_TEXT[code] : undefined;
  if (errno !== undefined) {
    const e = err as { syscall?: unknown; address?: unknown; port?: unknown };
    const syscall = typeof e.syscall === 'string' ? e.syscall : '';
    if (syscall === 'connect') {
      // Go: `dial <network> <address>: connect: <errno>`; the http network dials tcp.
      const at = address?.indexOf('@') ?? -1;
      const given = at < 0 ? (address ?? '') : address!.slice(at + 1);
      let network = at < 0 ? 'tcp' : address!.slice(0, at);
      if (network === 'http') network = 'tcp';
      let addr = given;
      if (typeof e.address === 'string' && typeof e.port === 'number') addr = e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
      else if (typeof e.address === 'string') addr = e.address;
      return new RpcxError(ErrorCode.CONNECTION, goText(`dial ${network} ${addr}: connect: ${errno}`, code as string), { cause: err });
    }
    const op = syscall === 'read' || syscall === 'write' ? `${syscall}: ` : '';
    return new RpcxError(ErrorCode.CONNECTION, goText(`net.OpError: ${op}${errno}`, `${code as string}${address === undefined ? '' : `, ${address}`}`), { cause: err });
  }
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) {
    return new RpcxError(ErrorCode.CONNECTION, `${code}: ${(err as Error).message}${where}`, { cause: err });
  }
  if (err instanceof Error) return new RpcxError(ErrorCode.CONNECTION, `${err.message}${where}`, { cause: err });
  return new RpcxError(ErrorCode.CONNECTION, `connection failed${where}: ${String(err)}`, { cause: err });
}
