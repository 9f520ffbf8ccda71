/**
 * Server selection, Go's `client/selector.go` (+ `hash_utils.go`, `geo_utils.go`,
 * `smooth_weighted_round_robin.go`) and `github.com/edwingeng/doublejump`; no `node:` imports, so
 * the browser XClient uses them too. `ping_utils.go` (WeightedICMP) is in `rtt.ts`: it connects.
 *
 * Server order: Go keeps servers in a `map[string]string`, so every selector sees them in Go's
 * random map-iteration order (round robin, weighted round robin tie-breaks and the consistent
 * hash's node slots all depend on it, and two Go processes may disagree). Here a server map is
 * a `Map` in insertion order, and the XClient inserts servers sorted by key (Go sorts the
 * discovery pairs before filling its map, then loses the order), so the order is one Go may
 * also pick, and stable. Selectors built directly take the order they are given; the interop
 * tests replay Go's actual order (printed by `interop/go/cmd/hashcheck`) that way.
 */
import { Buffer } from 'buffer';
import { goSprintV, type GoFormatOptions } from './gofmt.js';

/** Servers as Go's XClient holds them: `network@address` -> URL-query metadata. */
export type ServerMap = ReadonlyMap<string, string>;

/** What a selector may look at besides the method and args (Go passes the call's ctx). */
export interface SelectContext {
  /** The call's request metadata (Go: `share.ReqMetaDataKey` in the ctx). */
  metadata?: ReadonlyMap<string, string>;
}

/**
 * Picks the server for a call (Go: `client.Selector`). `select` returns a server key, or `''`
 * for none; `updateServer` gets the new server map after every discovery change. Implement it
 * for {@link SelectMode.SelectByUser}.
 */
export interface Selector {
  select(servicePath: string, serviceMethod: string, args: unknown, ctx?: SelectContext): string;
  updateServer(servers: ServerMap): void;
}

// ---------- Go's url.ParseQuery ----------

/** A parsed URL query (Go: `url.Values`), and whether Go's `url.ParseQuery` reported an error. */
export interface ParsedQuery {
  values: Map<string, string[]>;
  /** True when Go's `ParseQuery` would return an error (the values parsed so far are still there). */
  error: boolean;
}

/** Go's `url.ParseQuery`: `&`-separated, `+` is a space, `%XX` escapes, a `;` in a key is an error. */
export function parseQuery(query: string): ParsedQuery {
  const values = new Map<string, string[]>();
  let error = false;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      error = true;
      continue;
    }
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const key = queryUnescape(rawKey);
    const value = queryUnescape(rawValue);
    if (key === undefined || value === undefined) {
      error = true;
      continue;
    }
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  return { values, error };
}

/** Go's `url.QueryUnescape`; undefined for a malformed escape. */
function queryUnescape(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  const bytes: number[] = [];
  const src = Buffer.from(s, 'utf8');
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25) {
      const h = src.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === 0x2b) {
      bytes.push(0x20);
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's `strconv.Atoi` (64-bit int): optional sign and decimal digits only. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return Number(n);
}

/** Go's `strconv.ParseFloat(s, 64)` for the decimal forms metadata uses. */
function parseFloat64(s: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s)) return undefined;
  const lower = s.toLowerCase().replace(/^\+/, '');
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower.endsWith('nan')) return NaN;
  return Number(s);
}

/**
 * Go's `filterByStateAndGroup` (client/xclient.go): drops servers whose metadata says
 * `state=inactive`, and, when `group` is set, servers whose `group` values do not include it.
 * Metadata Go's `url.ParseQuery` rejects keeps the server unfiltered, as in Go.
 */
export function filterByStateAndGroup(group: string, servers: Map<string, string>): void {
  for (const [k, v] of [...servers]) {
    const q = parseQuery(v);
    if (q.error) continue;
    if (q.values.get('state')?.[0] === 'inactive') servers.delete(k);
    if (group !== '') {
      const groups = q.values.get('group') ?? [];
      if (!groups.includes(group)) servers.delete(k);
    }
  }
}

// ---------- hashing ----------

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 of the UTF-8 bytes of `s` (Go: `client.HashString`, `hash/fnv.New64a`). */
export function hashString(s: string | Uint8Array): bigint {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  let h = FNV_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  return h;
}

/** Lamping–Veach jump consistent hash (Go: `github.com/dgryski/go-jump` `Hash`, `client.Hash`). */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  let k = key & MASK64;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = Math.trunc((b + 1) * (2147483648 / Number((k >> 33n) + 1n)));
  }
  return b;
}

/**
 * Go's consistent-hash key (client/hash_utils.go `genKey`): FNV-1a 64 of
 * `"/" + servicePath + "/" + serviceMethod + "/" + fmt.Sprintf("%v", args)`, with `%v` as
 * {@link goSprintV} renders it.
 */
export function consistentHashKey(servicePath: string, serviceMethod: string, args: unknown, format: GoFormatOptions = {}): bigint {
  return hashString(`/${servicePath}/${serviceMethod}/${goSprintV(args, format)}`);
}

/**
 * `github.com/edwingeng/doublejump` v1.0.1: a jump hash over a "loose" slot list (removed
 * servers leave holes, re-used by later adds) that falls back to a "compact" list (removal
 * swaps the last in) for keys landing in a hole, with key × 0xc6a4a7935bd1e995.
 */
export class DoubleJump {
  private readonly looseA: (string | undefined)[] = [];
  private readonly looseM = new Map<string, number>();
  private looseF: number[] = [];
  private readonly compactA: string[] = [];
  private readonly compactM = new Map<string, number>();

  add(obj: string): void {
    if (!this.looseM.has(obj)) {
      const idx = this.looseF.pop();
      if (idx === undefined) {
        this.looseA.push(obj);
        this.looseM.set(obj, this.looseA.length - 1);
      } else {
        this.looseA[idx] = obj;
        this.looseM.set(obj, idx);
      }
    }
    if (!this.compactM.has(obj)) {
      this.compactA.push(obj);
      this.compactM.set(obj, this.compactA.length - 1);
    }
  }

  remove(obj: string): void {
    const li = this.looseM.get(obj);
    if (li !== undefined) {
      this.looseF.push(li);
      this.looseA[li] = undefined;
      this.looseM.delete(obj);
    }
    const ci = this.compactM.get(obj);
    if (ci !== undefined) {
      const last = this.compactA.length - 1;
      this.compactA[ci] = this.compactA[last]!;
      this.compactM.set(this.compactA[ci]!, ci);
      this.compactA.pop();
      this.compactM.delete(obj);
    }
  }

  get(key: bigint): string | undefined {
    const n = this.looseA.length;
    if (n === 0) return undefined;
    const obj = this.looseA[jumpHash(key, n)];
    if (obj !== undefined) return obj;
    const m = this.compactA.length;
    if (m === 0) return undefined;
    return this.compactA[jumpHash((key * 0xc6a4a7935bd1e995n) & MASK64, m)];
  }

  /** The servers in compact order (Go: `Hash.All`). */
  all(): string[] {
    return [...this.compactA];
  }
}

// ---------- selectors ----------

/** Uniformly random (Go: `randomSelector`, `SelectMode.RandomSelect`). */
export class RandomSelector implements Selector {
  private servers: string[];
  constructor(servers: ServerMap) {
    this.servers = [...servers.keys()];
  }
  select(): string {
    const ss = this.servers;
    if (ss.length === 0) return '';
    return ss[Math.floor(Math.random() * ss.length)]!;
  }
  updateServer(servers: ServerMap): void {
    this.servers = [...servers.keys()];
  }
}

/** Cycles through the servers (Go: `roundRobinSelector`, `SelectMode.RoundRobin`); an update keeps the counter. */
export class RoundRobinSelector implements Selector {
  private servers: string[];
  private i = 0;
  constructor(servers: ServerMap) {
    this.servers = [...servers.keys()];
  }
  select(): string {
    const ss = this.servers;
    if (ss.length === 0) return '';
    const i = this.i % ss.length;
    this.i = i + 1;
    return ss[i]!;
  }
  updateServer(servers: ServerMap): void {
    this.servers = [...servers.keys()];
  }
}

/** @internal A server and its weights in the smooth weighted round robin. */
export interface Weighted {
  server: string;
  weight: number;
  currentWeight: number;
}

/**
 * nginx smooth weighted round robin as Go's `weightedRoundRobinSelector` runs it: the sequence
 * for one full cycle (total weight picks) is computed up front into a ring and replayed; an
 * update rebuilds the ring from the start. The weight is metadata `weight` (Go `strconv.Atoi`;
 * default and on error 1). A total weight of 0 or less selects nothing (Go panics there).
 */
export class WeightedRoundRobinSelector implements Selector {
  private ring: string[] = [];
  private pos = 0;
  constructor(servers: ServerMap) {
    this.build(createWeighted(servers));
  }
  select(): string {
    if (this.ring.length === 0) return '';
    const s = this.ring[this.pos]!;
    this.pos = (this.pos + 1) % this.ring.length;
    return s;
  }
  updateServer(servers: ServerMap): void {
    this.build(createWeighted(servers));
  }
  /** Rebuilds from explicit weights, in the order given (used by {@link WeightedRttSelector}). */
  protected build(ss: Weighted[]): void {
    this.ring = buildSmoothRing(ss);
    this.pos = 0;
  }
}

function createWeighted(servers: ServerMap): Weighted[] {
  const out: Weighted[] = [];
  for (const [server, metadata] of servers) {
    let weight = 1;
    const q = parseQuery(metadata);
    if (!q.error) {
      const ww = q.values.get('weight')?.[0] ?? '';
      if (ww !== '') {
        const n = atoi(ww);
        if (n !== undefined) weight = n;
      }
    }
    out.push({ server, weight, currentWeight: 0 });
  }
  return out;
}

/** Go's `buildRing` + `next`: one cycle of smooth WRR, `totalWeight` entries. */
function buildSmoothRing(ss: Weighted[]): string[] {
  let total = 0;
  for (const w of ss) total += w.weight;
  if (ss.length === 0 || total <= 0) return [];
  const ring: string[] = [];
  for (let step = 0; step < total; step++) {
    if (ss.length === 1) {
      ring.push(ss[0]!.server);
      continue;
    }
    let flag = 0;
    let m = 0;
    for (let i = 0; i < ss.length; i++) {
      const w = ss[i]!;
      w.currentWeight += w.weight;
      if (w.currentWeight > m) {
        m = w.currentWeight;
        flag = i;
      }
    }
    ss[flag]!.currentWeight -= total;
    ring.push(ss[flag]!.server);
  }
  return ring;
}

/** Go's `CalculateWeight` (client/ping_utils.go): RTT in whole ms to a WRR weight. */
export function calculateWeight(rttMs: number): number {
  if (rttMs >= 0 && rttMs <= 10) return 191;
  if (rttMs > 10 && rttMs <= 200) return 201 - rttMs;
  if (rttMs > 100 && rttMs < 1000) return 1;
  return 0;
}

/**
 * Consistent hashing (Go: `consistentHashSelector`, `SelectMode.ConsistentHash`): the key is
 * {@link consistentHashKey} (or `hashKey`), the node a {@link DoubleJump} over the servers in
 * insertion order. An update adds new servers (in map order), then removes gone ones in sorted
 * order, as Go does.
 */
export class ConsistentHashSelector implements Selector {
  private readonly h = new DoubleJump();
  private servers = new Set<string>();
  private readonly keyFn: (servicePath: string, serviceMethod: string, args: unknown) => bigint;

  /**
   * @param hashKey the key: a function giving the string to FNV-hash (or the 64-bit key itself),
   *   or Go `%v` options for the args (`{ pointer: true }` when Go callers pass `&Args{}`).
   */
  constructor(servers: ServerMap, hashKey?: GoFormatOptions | ((servicePath: string, serviceMethod: string, args: unknown) => string | bigint)) {
    if (typeof hashKey === 'function') {
      this.keyFn = (p, m, a) => {
        const k = hashKey(p, m, a);
        return typeof k === 'bigint' ? k & MASK64 : hashString(k);
      };
    } else {
      const format = hashKey ?? {};
      this.keyFn = (p, m, a) => consistentHashKey(p, m, a, format);
    }
    for (const k of servers.keys()) {
      this.h.add(k);
      this.servers.add(k);
    }
  }

  select(servicePath: string, serviceMethod: string, args: unknown): string {
    if (this.servers.size === 0) return '';
    return this.h.get(this.keyFn(servicePath, serviceMethod, args)) ?? '';
  }

  updateServer(servers: ServerMap): void {
    for (const k of servers.keys()) this.h.add(k);
    // Go removes in the order of its sorted server slice (byte order), which decides the
    // compact list's swaps
    const old = [...this.servers].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of old) if (!servers.has(k)) this.h.remove(k);
    this.servers = new Set(servers.keys());
  }

  /** The node order of the underlying hash (Go: `doublejump.Hash.All`). */
  nodes(): string[] {
    return this.h.all();
  }
}

/** Go's `getDistanceFrom`: haversine distance in metres on a 6,378,100 m sphere. */
export function geoDistance(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const la1 = (lat1 * Math.PI) / 180;
  const lo1 = (lon1 * Math.PI) / 180;
  const la2 = (lat2 * Math.PI) / 180;
  const lo2 = (lon2 * Math.PI) / 180;
  const r = 6378100;
  const hsin = (t: number): number => Math.pow(Math.sin(t / 2), 2);
  const h = hsin(la2 - la1) + Math.cos(la1) * Math.cos(la2) * hsin(lo2 - lo1);
  return 2 * r * Math.asin(Math.sqrt(h));
}

/**
 * The nearest server by `latitude`/`longitude` metadata (Go: `geoSelector`,
 * `SelectMode.Closest`, set up by `ConfigGeoSelector`); ties are broken at random; servers
 * without both coordinates are never chosen.
 */
export class GeoSelector implements Selector {
  private servers: { server: string; lat: number; lon: number }[] = [];
  constructor(
    servers: ServerMap,
    readonly latitude: number,
    readonly longitude: number,
  ) {
    this.updateServer(servers);
  }
  select(): string {
    if (this.servers.length === 0) return '';
    let best: string[] = [];
    let min = Number.MAX_VALUE;
    for (const s of this.servers) {
      const d = geoDistance(this.latitude, this.longitude, s.lat, s.lon);
      if (d < min) {
        best = [s.server];
        min = d;
      } else if (d === min) {
        best.push(s.server);
      }
    }
    if (best.length === 0) return '';
    return best.length === 1 ? best[0]! : best[Math.floor(Math.random() * best.length)]!;
  }
  updateServer(servers: ServerMap): void {
    const out: { server: string; lat: number; lon: number }[] = [];
    for (const [server, metadata] of servers) {
      const q = parseQuery(metadata);
      if (q.error) continue;
      const latStr = q.values.get('latitude')?.[0] ?? '';
      const lonStr = q.values.get('longitude')?.[0] ?? '';
      if (latStr === '' || lonStr === '') continue;
      const lat = parseFloat64(latStr);
      const lon = parseFloat64(lonStr);
      if (lat === undefined || lon === undefined) continue;
      out.push({ server, lat, lon });
    }
    this.servers = out;
  }
}
