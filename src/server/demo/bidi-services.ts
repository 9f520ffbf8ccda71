/**
 * TS-only demo services of the bidirectional cases (77-80 of interop-cases.md), registered next
 * to the Go peer's services by the GT tests: the Go client calls them, and Go's server has no
 * such services, so those cases skip against it.
 *
 * - `Session.Login {User}` keeps the user on the connection and tags the connection with it;
 *   `Session.Whoami` reads it back (`{User}`, empty before a login); `Session.Notify {User,
 *   Path, Method, Payload}` pushes to every connection of that user (`{Sent}`).
 * - `Session.CallMe {Path, Method, Args, TimeoutMs}` calls the caller back over its connection
 *   (`ctx.connection.call`) and replies `{Reply}`, or `{Error, Code}` when that call failed.
 * - `KV.Set {Key, Value}` / `KV.Get {Key}` / `KV.Watch {Key, Since, TimeoutMs}`: Go net/rpc's
 *   Watch; see {@link KV}.
 */
import { RpcxError, ErrorCode } from '../../errors.js';
import { connectionKey } from '../connection.js';
import type { RequestContext } from '../context.js';
import type { RpcxServer } from '../server.js';

/** What `Session.Login` keeps on the connection. */
export const SessionUser = connectionKey<string>('session.user');

function str(o: unknown, k: string): string {
  const v = (o as Record<string, unknown> | null | undefined)?.[k];
  return typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : '';
}

function num(o: unknown, k: string): number {
  const v = (o as Record<string, unknown> | null | undefined)?.[k];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

function bytes(o: unknown, k: string): Uint8Array {
  const v = (o as Record<string, unknown> | null | undefined)?.[k];
  return v instanceof Uint8Array ? v : typeof v === 'string' ? new TextEncoder().encode(v) : new Uint8Array(0);
}

export class Session {
  readonly #server: RpcxServer;

  constructor(server: RpcxServer) {
    this.#server = server;
  }

  /** Keeps `User` on the connection (replacing an earlier login on it) and tags it. */
  Login(args: { User: string }, ctx: RequestContext): { User: string } {
    const user = str(args, 'User');
    if (user === '') throw new Error('empty user');
    const conn = ctx.connection;
    const before = conn.get(SessionUser);
    if (before !== undefined) conn.untag(before);
    conn.set(SessionUser, user);
    conn.tag(user);
    return { User: user };
  }

  Whoami(_args: unknown, ctx: RequestContext): { User: string } {
    return { User: ctx.connection.get(SessionUser) ?? '' };
  }

  /** Pushes `Payload` as `Path.Method` to every connection `User` is logged in on. */
  async Notify(args: unknown): Promise<{ Sent: number; Connections: number }> {
    const user = str(args, 'User');
    const r = await this.#server.sendMessageToTag(user, str(args, 'Path'), str(args, 'Method'), { user }, bytes(args, 'Payload'));
    return { Sent: r.sent, Connections: this.#server.connectionsTagged(user).size };
  }

  /** Calls the caller back (server-to-client call) and reports the outcome. */
  async CallMe(args: unknown, ctx: RequestContext): Promise<{ Reply: unknown; Error: string; Code: string }> {
    const timeoutMs = num(args, 'TimeoutMs') || 2_000;
    try {
      const reply = await ctx.connection.call(str(args, 'Path'), str(args, 'Method'), (args as Record<string, unknown>).Args ?? null, { timeoutMs });
      return { Reply: reply ?? null, Error: '', Code: '' };
    } catch (err) {
      const e = RpcxError.from(err);
      return { Reply: null, Error: e.message, Code: e.code };
    }
  }
}

interface Watcher {
  since: number;
  resolve: (v: { Value: string; Version: number; Changed: boolean }) => void;
}

/**
 * A key-value store with Go net/rpc's Watch (a blocking call released by another client's Set):
 * `Watch {Key, Since, TimeoutMs}` returns at once if the key's version is past `Since`, else
 * blocks until a `Set` of that key, the timeout (`Changed: false`), or the caller's deadline or
 * disconnect (`ctx.signal`). Waiters per key and in all are bounded (LIMIT).
 */
export class KV {
  readonly #values = new Map<string, { value: string; version: number }>();
  readonly #watchers = new Map<string, Set<Watcher>>();
  #waiting = 0;
  readonly #maxWaiting: number;

  constructor(maxWaiting = 10_000) {
    this.#maxWaiting = maxWaiting;
  }

  /** Blocked `Watch` calls. */
  get waiting(): number {
    return this.#waiting;
  }

  Set(args: unknown): { Version: number } {
    const key = str(args, 'Key');
    const version = (this.#values.get(key)?.version ?? 0) + 1;
    const value = str(args, 'Value');
    this.#values.set(key, { value, version });
    const ws = this.#watchers.get(key);
    if (ws !== undefined) {
      this.#watchers.delete(key);
      for (const w of ws) w.resolve({ Value: value, Version: version, Changed: true });
    }
    return { Version: version };
  }

  /** How many `Watch` calls wait on `Key` (`{N}`), for tests that wait until a watch is blocked. */
  Waiters(args: unknown): { N: number } {
    return { N: this.#watchers.get(str(args, 'Key'))?.size ?? 0 };
  }

  Get(args: unknown): { Value: string; Version: number } {
    const v = this.#values.get(str(args, 'Key'));
    return { Value: v?.value ?? '', Version: v?.version ?? 0 };
  }

  Watch(args: unknown, ctx: RequestContext): Promise<{ Value: string; Version: number; Changed: boolean }> | { Value: string; Version: number; Changed: boolean } {
    const key = str(args, 'Key');
    const since = num(args, 'Since');
    const cur = this.#values.get(key);
    if (cur !== undefined && cur.version > since) return { Value: cur.value, Version: cur.version, Changed: true };
    if (this.#waiting >= this.#maxWaiting) throw new RpcxError(ErrorCode.LIMIT, `more than ${this.#maxWaiting} watchers`);
    const timeoutMs = num(args, 'TimeoutMs') || 30_000;
    const signal = ctx.signal;
    return new Promise((resolve, reject) => {
      let set = this.#watchers.get(key);
      if (set === undefined) {
        set = new Set();
        this.#watchers.set(key, set);
      }
      this.#waiting++;
      const done = (): void => {
        this.#waiting--;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const s = this.#watchers.get(key);
        if (s !== undefined) {
          s.delete(w);
          if (s.size === 0) this.#watchers.delete(key);
        }
      };
      const w: Watcher = {
        since,
        resolve: (v) => {
          done();
          resolve(v);
        },
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason instanceof Error ? signal.reason : new Error('watch cancelled'));
      };
      const timer = setTimeout(() => {
        done();
        const v = this.#values.get(key);
        resolve({ Value: v?.value ?? '', Version: v?.version ?? 0, Changed: false });
      }, timeoutMs);
      set.add(w);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Registers `Session` and `KV` on `server`. */
export function registerBidiServices(server: RpcxServer): { session: Session; kv: KV } {
  const session = new Session(server);
  const kv = new KV();
  server.register(session, { name: 'Session' });
  server.register(kv, { name: 'KV' });
  return { session, kv };
}

