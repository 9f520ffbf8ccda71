import { RpcxError, ErrorCode } from '../errors.js';

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
 */
export function fromSocketError(err: unknown, address?: string): RpcxError {
  if (err instanceof RpcxError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const where = address === undefined ? '' : ` (${address})`;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))) {
    return new RpcxError(ErrorCode.CONNECTION, `${code}: ${(err as Error).message}${where}`, { cause: err });
  }
  if (err instanceof Error) return new RpcxError(ErrorCode.CONNECTION, `${err.message}${where}`, { cause: err });
  return new RpcxError(ErrorCode.CONNECTION, `connection failed${where}: ${String(err)}`, { cause: err });
}
