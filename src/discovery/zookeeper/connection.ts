/**
 * A ZooKeeper session for the register plugin and the discovery: one `node-zookeeper-client`
 * client, replaced by a new one (a new session) when its session expires, and promise wrappers
 * with a time bound around the few operations the registry needs.
 *
 * Go counterpart: libkv's `store/zookeeper` (`zk.Connect(endpoints, 10s)`); go-zookeeper also
 * starts a new session by itself after an expiry.
 */
import { EventEmitter } from 'node:events';
import zookeeper from 'node-zookeeper-client';
import type { Client, Event as ZkEvent, Stat } from 'node-zookeeper-client';
import { ErrorCode, RpcxError } from '../../errors.js';
import { discoveryLog } from '../common.js';

/** Go libkv's zookeeper `defaultTimeout`: the session timeout asked for. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/** How a registry reaches ZooKeeper: the servers, or a client the caller owns. */
export interface ZooKeeperConnectionOptions {
  /**
   * The ensemble, `host:port` each (Go `ZooKeeperServers` / `zkAddr`); a string may list them
   * comma-separated and end in a chroot (`h1:2181,h2:2181/chroot`). The connection creates the
   * client, replaces it after a session expiry, and closes it.
   */
  servers?: string | readonly string[];
  /**
   * A client you own and have called `connect()` on (not closed here). After its session
   * expires it is dead (node-zookeeper-client never revives it): give `servers` instead when
   * the connection should start a new session by itself.
   */
  client?: Client;
  /** Session timeout asked of the server (Go: 10 s; the server bounds it to 2-20 × its tickTime). */
  sessionTimeoutMs?: number;
  /** Longest random pause between rounds of connection attempts (node-zookeeper-client `spinDelay`; default 1,000 ms). */
  spinDelayMs?: number;
}

interface ConnectionEvents {
  /** Connected; `newSession` is true for the first session and for each new one after an expiry. */
  connected: [newSession: boolean];
  disconnected: [];
  expired: [];
}

/**
 * Makes `c` forget, each time it opens a new socket, the part of a reply the previous socket had
 * delivered. node-zookeeper-client (1.1.3) keeps it in `connectionManager.pendingBuffer` across
 * reconnections, so the next connection's bytes are parsed after stale ones: the session never
 * reconnects (the connect reply waits behind a length that will not come), or the garbage header
 * throws `Unknown code: …` from the socket's data handler, which no caller can catch
 * (alexguan/node-zookeeper-client#70, #23). This happens after a reply cut by a disconnection, and
 * also before the first session: a ZooKeeper that is still starting may send part of a handshake
 * reply and close. The hook is the connection manager's own `state` event, which fires with
 * CONNECTING right before every new socket (the client's `disconnected` event does not fire when
 * the client never connected). Every node-zookeeper-client the library creates gets it.
 * @internal
 */
/** node-zookeeper-client's `ConnectionManager.STATES.CONNECTING` (lib/ConnectionManager.js; not exported). */
const CM_CONNECTING = 1;

export function guardPartialReplies(c: Client): void {
  const cm = (c as unknown as { connectionManager?: EventEmitter & { pendingBuffer?: Buffer | null } }).connectionManager;
  if (cm === undefined || typeof cm.on !== 'function') return;
  cm.on('state', (state: number) => {
    if (state !== CM_CONNECTING || cm.pendingBuffer === null || cm.pendingBuffer === undefined) return;
    discoveryLog('zookeeper: dropping %d byte(s) of a reply cut by the disconnection', cm.pendingBuffer.length);
    cm.pendingBuffer = null;
  });
}

/** @internal The ZooKeeper error code of `err` (node-zookeeper-client `Exception`), if it is one. */
export function zkErrorCode(err: unknown): number | undefined {
  return err !== null && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'number' && typeof (err as { getCode?: unknown }).getCode === 'function' ? (err as { code: number }).code : undefined;
}

/**
 * One ZooKeeper session shared by a plugin or by a discovery and its clones (Go: libkv's
 * `store/zookeeper` `Zookeeper` store around a go-zookeeper `*zk.Conn`). Emits `connected`
 * (with `newSession`), `disconnected` and `expired`; see the module comment.
 */
export class ZooKeeperConnection extends EventEmitter<ConnectionEvents> {
  readonly owned: boolean;
  readonly #connectString: string;
  readonly #sessionTimeoutMs: number;
  readonly #spinDelayMs: number;
  #client: Client;
  #sessionId = '';
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(options: ZooKeeperConnectionOptions) {
    super();
    this.setMaxListeners(0);
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.#spinDelayMs = options.spinDelayMs ?? 1000;
    if (options.client !== undefined) {
      this.owned = false;
      this.#connectString = '';
      this.#client = options.client;
      this.#attach(this.#client);
      if (this.connected) this.#sessionId = this.#client.getSessionId().toString('hex');
    } else {
      const s = options.servers;
      const list = typeof s === 'string' ? s : Array.isArray(s) ? s.join(',') : '';
      if (list === '') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'ZooKeeper: give servers (host:port list) or client');
      this.owned = true;
      this.#connectString = list;
      this.#client = this.#newClient();
    }
  }

  #newClient(): Client {
    const c = zookeeper.createClient(this.#connectString, { sessionTimeout: this.#sessionTimeoutMs, spinDelay: this.#spinDelayMs, retries: 0 });
    this.#attach(c);
    c.connect();
    return c;
  }

  #detach: (() => void) | undefined;

  #attach(c: Client): void {
    guardPartialReplies(c);
    const onState = (state: InstanceType<typeof zookeeper.State>): void => {
      if (c !== this.#client || this.#closed) return;
      if (state === zookeeper.State.SYNC_CONNECTED) {
        const sid = c.getSessionId().toString('hex');
        const newSession = sid !== this.#sessionId;
        this.#sessionId = sid;
        discoveryLog('zookeeper: connected (session %s%s)', sid, newSession ? ', new' : '');
        for (const w of [...this.#waiters]) w();
        this.emit('connected', newSession);
      } else if (state === zookeeper.State.DISCONNECTED) {
        discoveryLog('zookeeper: disconnected');
        this.emit('disconnected');
      } else if (state === zookeeper.State.EXPIRED) {
        discoveryLog('zookeeper: session %s expired%s', this.#sessionId, this.owned ? '; starting a new one' : ' (client owned by the caller: not replaced)');
        this.emit('expired');
        if (this.owned) {
          c.close();
          this.#client = this.#newClient();
        }
      }
    };
    c.on('state', onState);
    this.#detach = () => c.off('state', onState);
  }

  /** The current client (a new one after a session expiry). */
  get client(): Client {
    return this.#client;
  }

  /** Whether the current client is connected. */
  get connected(): boolean {
    const s = this.#client.getState();
    return s === zookeeper.State.SYNC_CONNECTED || s === zookeeper.State.CONNECTED_READ_ONLY;
  }

  /** The current session id (hex), `''` before the first. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /**
   * The client once it is connected: at once when it is, else when it connects. Rejects after
   * `timeoutMs` (`TIMEOUT`), when `signal` aborts or the connection closes (`CANCELLED`).
   */
  ready(timeoutMs = Infinity, signal?: AbortSignal): Promise<Client> {
    if (this.#closed) return Promise.reject(new RpcxError(ErrorCode.CANCELLED, 'ZooKeeper connection closed'));
    if (this.connected) return Promise.resolve(this.#client);
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (err?: RpcxError): void => {
        this.#waiters.delete(onReady);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve(this.#client);
      };
      const onReady = (): void => done(this.#closed ? new RpcxError(ErrorCode.CANCELLED, 'ZooKeeper connection closed') : undefined);
      const onAbort = (): void => done(new RpcxError(ErrorCode.CANCELLED, 'cancelled while waiting for ZooKeeper'));
      if (signal?.aborted) return onAbort();
      this.#waiters.add(onReady);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => done(new RpcxError(ErrorCode.TIMEOUT, `ZooKeeper not connected after ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }
    });
  }

  /**
   * Called when an operation got no answer while the client counts as connected: the
   * connection is dead without a FIN (node-zookeeper-client has no read timeout of its own),
   * so its socket is dropped and the client reconnects — and learns if its session expired.
   */
  stalled(err: unknown): void {
    if (this.#closed || !(err instanceof RpcxError) || err.code !== ErrorCode.TIMEOUT || !this.connected) return;
    const socket = (this.#client as unknown as { connectionManager?: { socket?: { destroy(): void } } }).connectionManager?.socket;
    discoveryLog('zookeeper: no answer on a connected session: reconnecting');
    socket?.destroy();
  }

  /** Closes the client if this connection created it; wakes every waiter with `CANCELLED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#waiters]) w();
    if (this.owned) this.#client.close();
    else this.#detach?.();
  }
}

// ---------- promise wrappers, each bounded in time ----------

/** `world:anyone` with every permission (Go: `zk.WorldACL(zk.PermAll)`). */
function openAcl(): InstanceType<typeof zookeeper.ACL>[] {
  return [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
}

type ZkError = Error | InstanceType<typeof zookeeper.Exception> | null;
type Callback<T> = (error: ZkError, value?: T) => void;

/** @internal Runs one client operation; rejects with `TIMEOUT` if it has not answered after `timeoutMs`. */
export function zkCall<T>(timeoutMs: number, what: string, run: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RpcxError(ErrorCode.TIMEOUT, `ZooKeeper ${what}: no answer after ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    run((error, value) => {
      clearTimeout(timer);
      if (error) reject(error instanceof Error ? error : Object.assign(new Error(error.toString()), { code: error.getCode(), getCode: () => error.getCode() }));
      else resolve(value as T);
    });
  });
}

/** @internal A one-shot watch callback (go-zookeeper: the `<-chan zk.Event` of `ChildrenW`/`GetW`). */
export type Watcher = (event: ZkEvent) => void;

/** @internal `getChildren` (go-zookeeper `Children`/`ChildrenW`), bounded by `ms`. */
export function getChildren(c: Client, path: string, ms: number, watcher?: Watcher): Promise<string[]> {
  return zkCall(ms, `getChildren ${path}`, (cb) => (watcher ? c.getChildren(path, watcher, (e, ch) => cb(e, ch)) : c.getChildren(path, (e, ch) => cb(e, ch))));
}

/** @internal `getData` (go-zookeeper `Get`/`GetW`), bounded by `ms`; empty data as an empty Buffer. */
export function getData(c: Client, path: string, ms: number, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
  return zkCall(ms, `getData ${path}`, (cb) => {
    const done = (e: ZkError, data: Buffer, stat: Stat): void => cb(e, { data: data ?? Buffer.alloc(0), stat });
    if (watcher) c.getData(path, watcher, done);
    else c.getData(path, done);
  });
}

/** @internal `exists` (go-zookeeper `Exists`/`ExistsW`): the stat or null, bounded by `ms`. */
export function exists(c: Client, path: string, ms: number, watcher?: Watcher): Promise<Stat | null> {
  return zkCall(ms, `exists ${path}`, (cb) => {
    const done = (e: ZkError, stat: Stat): void => cb(e, stat ?? null);
    if (watcher) c.exists(path, watcher, done);
    else c.exists(path, done);
  });
}

/** @internal `create` with Go's ACL `world:anyone` all (go-zookeeper `Create`), bounded by `ms`. */
export function create(c: Client, path: string, data: Buffer, mode: number, ms: number): Promise<void> {
  return zkCall(ms, `create ${path}`, (cb) => c.create(path, data, openAcl(), mode, (e) => cb(e)));
}

/** @internal `setData` at any version (go-zookeeper `Set(path, data, -1)`), bounded by `ms`. */
export function setData(c: Client, path: string, data: Buffer, ms: number): Promise<void> {
  return zkCall(ms, `setData ${path}`, (cb) => c.setData(path, data, -1, (e) => cb(e)));
}

/** @internal `delete` at any version (go-zookeeper `Delete(path, -1)`), bounded by `ms`. */
export function remove(c: Client, path: string, ms: number): Promise<void> {
  return zkCall(ms, `remove ${path}`, (cb) => c.remove(path, -1, (e) => cb(e)));
}

/** Deletes `path` and creates it again with `data` in one transaction (one atomic change). */
export function replace(c: Client, path: string, data: Buffer, mode: number, ms: number): Promise<void> {
  return zkCall(ms, `replace ${path}`, (cb) =>
    c
      .transaction()
      .remove(path, -1)
      .create(path, data, openAcl(), mode)
      .commit((e) => cb(e)),
  );
}

/** Go libkv's `normalize`: one leading `/`, no trailing `/` (the plugin strips a leading `/`, the store adds it back). */
export function zkPath(key: string): string {
  let k = key.replace(/^\/+/, '');
  k = k.replace(/\/+$/, '');
  return '/' + k;
}
