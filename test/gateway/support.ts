// HTTP helpers for the gateway and JSON-RPC tests: one request per fresh connection (the port
// routes a connection once, by its first request), the answer with header names as sent.
import { request } from 'node:http';
import { connect } from 'node:net';

export interface HttpAnswer {
  status: number;
  /** Header names exactly as on the wire, in order. */
  rawNames: string[];
  /** Lower-case name -> raw value bytes as a Latin-1 string. */
  headers: Map<string, string>;
  body: Buffer;
}

export interface HttpAsk {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

/** `host:port` of a `tcp@host:port` key. */
export function hostPort(key: string): { host: string; port: number } {
  const a = key.slice(key.indexOf('@') + 1);
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

/** One HTTP/1.1 request on a new connection (max 10 s). */
export function ask(key: string, q: HttpAsk): Promise<HttpAnswer> {
  const { host, port } = hostPort(key);
  return new Promise((resolve, reject) => {
    // An explicit Content-Length: Node sends a GET body unframed otherwise.
    const headers = q.body === undefined || q.chunked === true ? (q.headers ?? {}) : { 'Content-Length': String(Buffer.byteLength(q.body)), ...q.headers };
    const req = request({ host, port, method: q.method ?? 'POST', path: q.path ?? '/', headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const rawNames: string[] = [];
        const headers = new Map<string, string>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          rawNames.push(res.rawHeaders[i]!);
          const k = res.rawHeaders[i]!.toLowerCase();
          if (!headers.has(k)) headers.set(k, res.rawHeaders[i + 1]!);
        }
        resolve({ status: res.statusCode ?? 0, rawNames, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
    req.on('error', reject);
    req.end(q.body);
  });
}

/** Writes `bytes` on a new connection; resolves with everything read until the peer closes (max `ms`). */
export function rawExchange(key: string, bytes: string | Buffer, ms = 5000): Promise<{ data: Buffer; closed: boolean }> {
  const { host, port } = hostPort(key);
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
    s.write(bytes);
  });
}

/** What two answers are compared on: status, the `X-Rpcx-*` and a few Go headers, body. */
export function comparable(a: HttpAnswer): Record<string, unknown> {
  const h: Record<string, string> = {};
  for (const [k, v] of a.headers) {
    if (k.startsWith('x-rpcx-') || k === 'context-type' || k === 'allow' || k === 'content-type' || k === 'x-content-type-options') h[k] = v;
  }
  const names = a.rawNames.filter((n) => n.toLowerCase().startsWith('x-rpcx-') || n.toLowerCase() === 'context-type').sort();
  return { status: a.status, headers: h, names, body: a.body.toString('latin1') };
}
