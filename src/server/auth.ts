import type { AuthFunc } from './dispatch.js';

/**
 * A simple `authFunc` accepting exactly `token` in `__AUTH` (as the interop Go server's
 * `-auth` flag does); anything else is refused with `rejectText` (default `invalid token`), and
 * the server then closes the connection, as Go does. Go rpcx has no built-in text.
 */
export function tokenAuth(token: string, rejectText = 'invalid token'): AuthFunc {
  return (_ctx, _req, got) => (got === token ? undefined : new Error(rejectText));
}
