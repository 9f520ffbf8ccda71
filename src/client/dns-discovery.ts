// Go rpcx's `client.DNSDiscovery` (client/dns_discovery.go): the servers of a service are the IP
// addresses a domain name resolves to (e.g. a Kubernetes headless service), all on one port,
// looked up again every interval.
import { lookup as dnsLookup } from 'node:dns/promises';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { LatestFeed, type KVPair, type ServiceDiscovery, type ServiceDiscoveryFilter } from './discovery.js';

const log = createDebug('rpcx:discovery');

/** How {@link DNSDiscovery} resolves a name: the addresses and their IP family (default: `dns.promises.lookup(name, { all: true })`, the system resolver as Go's `net.LookupIP`). */
export type DnsLookup = (domain: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const systemLookup: DnsLookup = (domain) => dnsLookup(domain, { all: true });

/**
 * Go `client.NewDNSDiscovery(domain, network, port, d)`: every address `domain` resolves to is a
 * server `network@address:port` (IPv6 in brackets, `tcp@[fd00::1]:8972`, where Go writes an
 * address it cannot dial), sorted by key, looked up at start and every `intervalMs`. A failed
 * lookup keeps the last list (logged on `rpcx:discovery`), as Go. Watchers get each list that
 * differs from the one before (Go sends every lookup's list, changed or not). The timer does not
 * keep the process alive.
 */
export class DNSDiscovery implements ServiceDiscovery {
  readonly #domain: string;
  readonly #network: string;
  readonly #port: number;
  readonly #intervalMs: number;
  readonly #lookup: DnsLookup;
  readonly #feeds = new Set<LatestFeed>();
  #filter: ServiceDiscoveryFilter | undefined;
  #pairs: readonly KVPair[] = [];
  #first: Promise<void>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(domain: string, network: string, port: number, intervalMs: number, options: { lookup?: DnsLookup } = {}) {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `DNSDiscovery: bad port ${port}`);
    if (!(intervalMs > 0)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `DNSDiscovery: the interval must be > 0 ms, got ${intervalMs}`);
    this.#domain = domain;
    this.#network = network;
    this.#port = port;
    this.#intervalMs = intervalMs;
    this.#lookup = options.lookup ?? systemLookup;
    this.#first = this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), intervalMs);
    this.#timer.unref?.();
  }

  /** The servers of the latest lookup; the first call waits for the first lookup. */
  async getServices(): Promise<readonly KVPair[]> {
    await this.#first;
    return this.#pairs;
  }

  watch(): AsyncIterable<readonly KVPair[]> {
    const feed = new LatestFeed((f) => this.#feeds.delete(f));
    if (this.#closed) feed.end();
    else this.#feeds.add(feed);
    return { [Symbol.asyncIterator]: () => feed };
  }

  /** Go `Clone`: a new discovery of the same name, network, port and interval. */
  clone(): ServiceDiscovery {
    return new DNSDiscovery(this.#domain, this.#network, this.#port, this.#intervalMs, { lookup: this.#lookup });
  }

  setFilter(filter: ServiceDiscoveryFilter): void {
    this.#filter = filter;
  }

  /** Looks the name up now (the timer does it every interval); resolves once the list is updated. */
  async refresh(): Promise<void> {
    await this.#refresh();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const f of [...this.#feeds]) f.end();
  }

  async #refresh(): Promise<void> {
    let found: ReadonlyArray<{ address: string; family: number }>;
    try {
      found = await this.#lookup(this.#domain);
    } catch (err) {
      log('dns discovery: failed to look up %s: %s (keeping %d servers)', this.#domain, (err as Error).message, this.#pairs.length);
      return;
    }
    if (this.#closed) return;
    const keys = new Set<string>();
    for (const a of found) keys.add(`${this.#network}@${a.family === 6 ? `[${a.address}]` : a.address}:${this.#port}`);
    const pairs: KVPair[] = [];
    for (const key of [...keys].sort()) {
      const pair = { key, value: '' };
      if (this.#filter === undefined || this.#filter(pair)) pairs.push(pair);
    }
    if (pairs.length === this.#pairs.length && pairs.every((p, i) => p.key === this.#pairs[i]!.key)) return;
    this.#pairs = pairs;
    for (const f of this.#feeds) f.offer(pairs);
  }
}
