/**
 * Service discovery (Go: `client.ServiceDiscovery`, `client/discovery.go`,
 * `peer2peer_discovery.go`, `multiple_servers_discovery.go`).
 */

/**
 * One server of a service (Go: `client.KVPair`): `key` is `network@address`
 * (`tcp@127.0.0.1:8972`; no `@` means tcp), `value` its URL-query metadata
 * (`weight=10&group=a&state=active`).
 */
export interface KVPair {
  key: string;
  value: string;
}

/** Keeps or drops a pair (Go: `client.ServiceDiscoveryFilter`). */
export type ServiceDiscoveryFilter = (pair: KVPair) => boolean;

/**
 * Where an XClient learns its servers (Go: `client.ServiceDiscovery`). Registries implement
 * it: `getServices` may be async (an XClient waits for it before its first call), `watch`
 * yields the whole new list on every change (each iterator is one watcher; ending the
 * iteration removes it, Go's `RemoveWatcher`), or returns undefined when the list never
 * changes (Go returns a nil channel). An XClient calls `watch()` before `getServices()`, so a
 * change between the two must reach the watcher. `clone` gives a discovery for another service path (Go
 * `OneClient` uses it).
 */
export interface ServiceDiscovery {
  getServices(): readonly KVPair[] | Promise<readonly KVPair[]>;
  watch(): AsyncIterable<readonly KVPair[]> | undefined;
  clone(servicePath: string): ServiceDiscovery | Promise<ServiceDiscovery>;
  setFilter?(filter: ServiceDiscoveryFilter): void;
  close(): void;
}

/**
 * One fixed server (Go: `client.NewPeer2PeerDiscovery(server, metadata)`); no watch; `clone`
 * returns itself.
 */
export class Peer2PeerDiscovery implements ServiceDiscovery {
  constructor(
    readonly server: string,
    readonly metadata = '',
  ) {}
  getServices(): KVPair[] {
    return [{ key: this.server, value: this.metadata }];
  }
  watch(): undefined {
    return undefined;
  }
  clone(): ServiceDiscovery {
    return this;
  }
  setFilter(): void {}
  close(): void {}
}

/**
 * @internal A watcher's feed: keeps only the newest list while the consumer is busy (Go buffers 10
 * lists per watcher and drops an update after a minute; an XClient only needs the latest).
 * Registry discoveries use it too.
 */
export class LatestFeed implements AsyncIterator<readonly KVPair[]> {
  private latest: readonly KVPair[] | undefined;
  private waiter: ((r: IteratorResult<readonly KVPair[]>) => void) | undefined;
  private ended = false;

  constructor(private readonly onEnd: (f: LatestFeed) => void) {}

  offer(pairs: readonly KVPair[]): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w({ value: pairs, done: false });
    } else {
      this.latest = pairs;
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<readonly KVPair[]>> {
    if (this.latest !== undefined) {
      const value = this.latest;
      this.latest = undefined;
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<readonly KVPair[]>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }
}

/**
 * A list of servers that the application changes with {@link update} (Go:
 * `client.NewMultipleServersDiscovery(pairs)` + `Update`). Every watcher gets each new list;
 * `clone` returns itself, as in Go. Also takes a callback: {@link onChange}.
 */
export class MultipleServersDiscovery implements ServiceDiscovery {
  private pairs: readonly KVPair[];
  private readonly feeds = new Set<LatestFeed>();
  private readonly callbacks = new Set<(pairs: readonly KVPair[]) => void>();
  private closed = false;

  constructor(pairs: readonly KVPair[] | Readonly<Record<string, string>>) {
    this.pairs = toPairs(pairs);
  }

  getServices(): readonly KVPair[] {
    return this.pairs;
  }

  watch(): AsyncIterable<readonly KVPair[]> {
    const feed = new LatestFeed((f) => this.feeds.delete(f));
    if (this.closed) feed.end();
    else this.feeds.add(feed);
    return { [Symbol.asyncIterator]: () => feed };
  }

  /** Calls `cb` with every new list; returns the unsubscribe function. */
  onChange(cb: (pairs: readonly KVPair[]) => void): () => void {
    this.callbacks.add(cb);
    return () => this.callbacks.delete(cb);
  }

  /** Replaces the list and tells every watcher (Go: `Update`). */
  update(pairs: readonly KVPair[] | Readonly<Record<string, string>>): void {
    this.pairs = toPairs(pairs);
    for (const f of this.feeds) f.offer(this.pairs);
    for (const cb of this.callbacks) cb(this.pairs);
  }

  clone(): ServiceDiscovery {
    return this;
  }

  setFilter(): void {}

  /** Ends every watcher (Go's `Close` does nothing; ending the feeds lets XClients stop watching). */
  close(): void {
    this.closed = true;
    for (const f of [...this.feeds]) f.end();
    this.callbacks.clear();
  }
}

function toPairs(pairs: readonly KVPair[] | Readonly<Record<string, string>>): readonly KVPair[] {
  if (Array.isArray(pairs)) return [...(pairs as readonly KVPair[])];
  return Object.entries(pairs as Record<string, string>).map(([key, value]) => ({ key, value }));
}
