// A browser XClient (Go rpcx: `client.XClient` over `ws`/`wss` servers): one service, a list of
// servers, a BrowserClient per server made on first use, a select mode and a fail mode with Go's
// rules. Portable: no `node:` imports. The list is given (a browser has no registry client);
// `setServers` replaces it, e.g. from a config endpoint.
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import { FailMode, SelectMode, XCLIENT_NO_SERVER } from '../client/fail-mode.js';
import { createProxy, type ServiceProxy } from '../client/proxy.js';
import type { Message } from '../protocol/message.js';
import { BrowserClient, type BrowserCallOptions, type BrowserClientOptions, type BrowserClientStatus } from './client.js';

/** Options of {@link BrowserXClient}: those of each {@link BrowserClient}, plus Go's XClient choices. */
export interface BrowserXClientOptions extends BrowserClientOptions {
  /** `SelectMode.RandomSelect` (Go's default) or `SelectMode.RoundRobin`. */
  selectMode?: SelectMode;
  /** `FailMode.Failover` (Go's default), `Failfast` or `Failtry`. */
  failMode?: FailMode;
  /** Further attempts after a failed one, Failover and Failtry (Go: `Option.Retries`, default 3). */
  retries?: number;
}

/** A status of one of the XClient's connections, with the server it is about. */
export type BrowserXClientStatus = BrowserClientStatus & { server: string };

/**
 * Calls one service on a list of servers (Go: `client.NewXClient(servicePath, failMode,
 * selectMode, discovery, option)` with a `MultipleServersDiscovery`). Go's fail modes:
 * **Failover** retries on a server selected again, **Failtry** on the same server, up to
 * `retries` more times; **Failfast** tries once. As in Go, a service error (the server answered
 * with an error), a timeout and a cancellation are never retried; what is retried are failures to
 * reach a server or connections that drop. Pushes of every server reach `onMessage`.
 */
export class BrowserXClient {
  readonly servicePath: string;
  readonly #options: BrowserXClientOptions;
  readonly #clients = new Map<string, BrowserClient>();
  readonly #pushListeners = new Set<(m: Message, server: string) => void>();
  readonly #statusListeners = new Set<(s: BrowserXClientStatus) => void>();
  #servers: readonly string[] = [];
  #next = 0;
  #closed = false;

  constructor(servicePath: string, servers: readonly string[], options: BrowserXClientOptions = {}) {
    const failMode = options.failMode ?? FailMode.Failover;
    if (failMode !== FailMode.Failover && failMode !== FailMode.Failfast && failMode !== FailMode.Failtry) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `BrowserXClient: fail mode ${failMode} is not supported (Failover, Failfast, Failtry)`);
    }
    const selectMode = options.selectMode ?? SelectMode.RandomSelect;
    if (selectMode !== SelectMode.RandomSelect && selectMode !== SelectMode.RoundRobin) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `BrowserXClient: select mode ${selectMode} is not supported (RandomSelect, RoundRobin)`);
    }
    this.servicePath = servicePath;
    this.#options = options;
    this.setServers(servers);
  }

  /** The servers calls go to. */
  get servers(): readonly string[] {
    return this.#servers;
  }

  /** Replaces the server list; connections to servers no longer listed are closed. */
  setServers(servers: readonly string[]): void {
    const list = [...new Set(servers)];
    this.#servers = list;
    for (const [server, c] of this.#clients) {
      if (!list.includes(server)) {
        this.#clients.delete(server);
        c.close();
      }
    }
  }

  /** Calls `serviceMethod` on a selected server and resolves with the decoded reply (Go: `XClient.Call`). */
  async call<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<T> {
    return (await this.callWithMetadata<T>(serviceMethod, args, options)).reply;
  }

  /** As {@link call}, with the response metadata. */
  callWithMetadata<T = unknown>(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<{ reply: T; metadata: Map<string, string> }> {
    return this.#withRetries((c) => c.callWithMetadata<T>(this.servicePath, serviceMethod, args, options));
  }

  /** A oneway request to a selected server (Go: `XClient.Oneshot`); fails over as a call does when the server can not be reached. */
  oneway(serviceMethod: string, args: unknown, options: BrowserCallOptions = {}): Promise<void> {
    return this.#withRetries((c) => c.oneway(this.servicePath, serviceMethod, args, options));
  }

  /** A typed proxy: `xc.service<Arith>().Mul({ A: 2, B: 3 })` calls `Mul` through this XClient. */
  service<T extends object>(): ServiceProxy<T, BrowserCallOptions> {
    return createProxy<T, BrowserCallOptions>(this);
  }

  /** Calls `fn` with every push of every server, and the server it came from; returns an unsubscribe function. */
  onMessage(fn: (m: Message, server: string) => void): () => void {
    this.#pushListeners.add(fn);
    return () => this.#pushListeners.delete(fn);
  }

  /** Calls `fn` on every connection state change of every server; returns an unsubscribe function. */
  onStatus(fn: (s: BrowserXClientStatus) => void): () => void {
    this.#statusListeners.add(fn);
    return () => this.#statusListeners.delete(fn);
  }

  /** Closes every connection; later calls fail with CONNECTION. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #select(): string | undefined {
    const list = this.#servers;
    if (list.length === 0) return undefined;
    if ((this.#options.selectMode ?? SelectMode.RandomSelect) === SelectMode.RoundRobin) return list[this.#next++ % list.length];
    return list[Math.floor(Math.random() * list.length)];
  }

  #client(server: string): BrowserClient {
    let c = this.#clients.get(server);
    if (c === undefined) {
      c = new BrowserClient(server, this.#options);
      c.onMessage((m) => {
        for (const fn of [...this.#pushListeners]) fn(m, server);
      });
      c.onStatus((s) => {
        for (const fn of [...this.#statusListeners]) fn({ ...s, server });
      });
      this.#clients.set(server, c);
    }
    return c;
  }

  async #withRetries<R>(attempt: (c: BrowserClient) => Promise<R>): Promise<R> {
    if (this.#closed) throw new RpcxError(ErrorCode.CONNECTION, `xclient for ${this.servicePath} is closed`);
    const failMode = this.#options.failMode ?? FailMode.Failover;
    const retries = failMode === FailMode.Failfast ? 0 : Math.max(0, this.#options.retries ?? 3);
    let server = this.#select();
    let last: unknown;
    for (let i = 0; i <= retries; i++) {
      if (server === undefined) throw new RpcxError(ErrorCode.CONNECTION, XCLIENT_NO_SERVER);
      try {
        return await attempt(this.#client(server));
      } catch (err) {
        if (!retryable(err)) throw err;
        last = err;
      }
      if (this.#closed) break;
      if (failMode === FailMode.Failover) server = this.#select();
      else if (!this.#servers.includes(server)) server = undefined;
    }
    throw last;
  }
}

/** Go's XClient retries neither service errors nor a caller's timeout or cancel. */
function retryable(err: unknown): boolean {
  if (err instanceof ServiceError) return false;
  if (err instanceof RpcxError) return err.code !== ErrorCode.TIMEOUT && err.code !== ErrorCode.CANCELLED && err.code !== ErrorCode.CODEC && err.code !== ErrorCode.INVALID_ARGUMENT;
  return false;
}
