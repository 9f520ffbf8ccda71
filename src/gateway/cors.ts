// CORS for the gateway and JSON-RPC (Go: `Server.SetCORS(*cors.Options)` with github.com/rs/cors
// wrapping both HTTP handlers). The subset of rs/cors's rules rpcx users set: origins, methods,
// headers, exposed headers, credentials, max age; preflights answered with 204.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Go `server.CORSOptions` (rs/cors `Options`), in camelCase. */
export interface CorsOptions {
  /** Origins allowed (`*` for any; one `*` wildcard per entry, as `https://*.example.com`). Default `*`. */
  allowedOrigins?: readonly string[];
  /** Methods allowed for cross-origin requests. Default GET, POST, HEAD. */
  allowedMethods?: readonly string[];
  /** Request headers allowed (`*` for any). Default Accept, Content-Type, X-Requested-With (and Origin). */
  allowedHeaders?: readonly string[];
  /** Response headers the browser may read (e.g. the `X-Rpcx-*` ones). */
  exposedHeaders?: readonly string[];
  allowCredentials?: boolean;
  /** Seconds a preflight may be cached; 0 leaves the header out. */
  maxAge?: number;
  /** Status of a preflight answer. Default 204. */
  optionsSuccessStatus?: number;
}

/** Go `server.AllowAllCORSOptions()`. */
export function allowAllCorsOptions(): CorsOptions {
  return { allowedOrigins: ['*'], allowedMethods: ['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['*'], allowCredentials: false };
}

function originAllowed(o: CorsOptions, origin: string): boolean {
  const list = o.allowedOrigins ?? ['*'];
  const lower = origin.toLowerCase();
  return list.some((p) => {
    if (p === '*') return true;
    const pl = p.toLowerCase();
    const star = pl.indexOf('*');
    if (star < 0) return pl === lower;
    return lower.length >= pl.length - 1 && lower.startsWith(pl.slice(0, star)) && lower.endsWith(pl.slice(star + 1));
  });
}

function methodAllowed(o: CorsOptions, method: string): boolean {
  if (method === 'OPTIONS') return true;
  return (o.allowedMethods ?? ['GET', 'POST', 'HEAD']).some((m) => m.toUpperCase() === method.toUpperCase());
}

function headersAllowed(o: CorsOptions, requested: string[]): boolean {
  const allowed = (o.allowedHeaders ?? ['Accept', 'Content-Type', 'X-Requested-With']).map((h) => h.toLowerCase());
  if (allowed.includes('*')) return true;
  return requested.every((h) => h === 'origin' || allowed.includes(h));
}

function allowOrigin(o: CorsOptions, origin: string): string {
  return (o.allowedOrigins ?? ['*']).includes('*') && o.allowCredentials !== true ? '*' : origin;
}

/** Applies CORS to one request; `true` if it was a preflight and has been answered. */
export function applyCors(o: CorsOptions, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : '';
  const reqMethod = req.headers['access-control-request-method'];
  if (req.method === 'OPTIONS' && typeof reqMethod === 'string' && reqMethod !== '') {
    res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    const requested = (req.headers['access-control-request-headers'] ?? '')
      .toString()
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    if (origin !== '' && originAllowed(o, origin) && methodAllowed(o, reqMethod) && headersAllowed(o, requested)) {
      res.setHeader('Access-Control-Allow-Origin', allowOrigin(o, origin));
      res.setHeader('Access-Control-Allow-Methods', reqMethod.toUpperCase());
      if (requested.length > 0) res.setHeader('Access-Control-Allow-Headers', requested.join(', '));
      if (o.allowCredentials === true) res.setHeader('Access-Control-Allow-Credentials', 'true');
      if ((o.maxAge ?? 0) > 0) res.setHeader('Access-Control-Max-Age', String(o.maxAge));
    }
    req.resume();
    res.statusCode = o.optionsSuccessStatus ?? 204;
    res.end();
    return true;
  }
  res.setHeader('Vary', 'Origin');
  if (origin === '' || !originAllowed(o, origin) || !methodAllowed(o, req.method ?? '')) return false;
  res.setHeader('Access-Control-Allow-Origin', allowOrigin(o, origin));
  if ((o.exposedHeaders ?? []).length > 0) res.setHeader('Access-Control-Expose-Headers', (o.exposedHeaders ?? []).join(', '));
  if (o.allowCredentials === true) res.setHeader('Access-Control-Allow-Credentials', 'true');
  return false;
}
