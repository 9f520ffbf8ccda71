import { RpcxError, ErrorCode } from '../errors.js';
import type { Message } from '../protocol/index.js';
import type { CallResult, RawResult } from './client.js';
import type { KVPair, ServiceDiscovery } from './discovery.js';
import { createProxy, type ServiceProxy } from './proxy.js';
import { PushMerge } from './push-merge.js';
import type { Selector } from './selectors.js';
import { BidirectionalXClient, XClient, type XCallOptions, type XClientOptions, type XClientStatus } from './xclient.js';

/** Options of a {@link OneClient}: those of an {@link XClient}, for every service it calls. */
export type OneClientOptions = XClientOptions;

const CLOSED = 'oneclient is closed';

/**
 * @internal A discovery for `servicePath` from `discovery.clone`, usable at once even when `clone`
 * is async (Go's `Clone` is synchronous): it waits for the clone in `getServices` and `watch`.
 */
export function cloned(discovery: ServiceDiscovery, servicePath: string): ServiceDiscovery {
  const made = discovery.clone(servicePath);
  if (typeof (made as { then?: unknown }).then !== 'function') return made as ServiceDiscovery;
  const c = Promise.resolve(made);
  c.catch(() => {});
  return {
    getServices: async () => (await c).getServices(),
    watch: () => ({
      async *[Symbol.asyncIterator](): AsyncGenerator<readonly KVPair[]> {
        const feed = (await c).watch();
        if (feed !== undefined) yield* feed;
      },
    }),
    clone: (p: string) => c.then((d) => d.clone(p)),
    close: () => void c.then((d) => d.close(), () => {}),
  };
}

/**
 * One client for every service (Go: `client.OneClient` from `NewOneClient`): `call(servicePath,
 * serviceMethod, args)` goes through an {@link XClient} for that service, created on first use
 * with the discovery's `clone(servicePath)` and the OneClient's options, selector, geo position
 * and auth token. As in Go, each service's XClient keeps its own connections (a OneClient
 * calling two services of one server holds two connections to it).
 */
export class OneClient {
  protected readonly options: OneClientOptions;
  private readonly xclients = new Map<string, XClient>();
  private readonly selectors = new Map<string, Selector>();
  private geo: { latitude: number; longitude: number } | undefined;
  private authToken: string | undefined;
  private closed = false;
  private readonly statusCallbacks = new Set<(s: XClientStatus & { servicePath: string }) => void>();

  constructor(options: OneClientOptions) {
    if (options.selector !== undefined) {
      // One Selector instance cannot serve several services' server lists (Go has no such option).
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'OneClient: give selectors per service with setSelector(servicePath, selector)');
    }
    this.options = options;
    this.authToken = options.auth;
    this.geo = options.geo;
  }

  /**
   * The XClient of `servicePath`, created on first use (Go: the lookup at the top of every
   * OneClient method, `newXClient`). Throws `CONNECTION` after {@link close}.
   */
  xclient(servicePath: string): XClient {
    if (this.closed) throw new RpcxError(ErrorCode.CONNECTION, CLOSED);
    let xc = this.xclients.get(servicePath);
    if (xc !== undefined) return xc;
    let discovery: ServiceDiscovery;
    try {
      discovery = cloned(this.options.discovery, servicePath);
    } catch (err) {
      throw RpcxError.from(err, ErrorCode.INVALID_ARGUMENT);
    }
    const { selector: _s, geo: _g, ...rest } = this.options;
    xc = this.newXClient(servicePath, { ...rest, discovery });
    const sel = this.selectors.get(servicePath);
    if (sel !== undefined) xc.setSelector(sel);
    if (this.geo !== undefined) xc.configGeoSelector(this.geo.latitude, this.geo.longitude);
    if (this.authToken !== undefined && this.authToken !== '') xc.auth(this.authToken);
    xc.onStatus((s) => {
      for (const cb of this.statusCallbacks) cb({ ...s, servicePath });
    });
    this.xclients.set(servicePath, xc);
    return xc;
  }

  /** Makes the XClient of one service; the bidirectional variant overrides it. */
  protected newXClient(servicePath: string, options: XClientOptions): XClient {
    return new XClient(servicePath, options);
  }

  /** The service paths called so far. */
  get servicePaths(): string[] {
    return [...this.xclients.keys()];
  }

  /** Go: `OneClient.Call`. */
  async call<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options?: XCallOptions): Promise<T> {
    return this.xclient(servicePath).call<T>(serviceMethod, args, options);
  }

  /** Like {@link call}, with the response metadata (see {@link XClient.callWithMetadata}). */
  async callWithMetadata<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options?: XCallOptions): Promise<CallResult<T>> {
    return this.xclient(servicePath).callWithMetadata<T>(serviceMethod, args, options);
  }

  /** A oneway call to one selected server of `servicePath` (Go: `XClient.Oneshot` of that service). */
  async oneshot(servicePath: string, serviceMethod: string, args: unknown, options?: XCallOptions): Promise<void> {
    return this.xclient(servicePath).oneshot(serviceMethod, args, options);
  }

  /** Go: `OneClient.SendRaw`: the message's `servicePath` picks the XClient. */
  async sendRaw(msg: Message, options?: Pick<XCallOptions, 'signal' | 'timeoutMs' | 'deadline'>): Promise<RawResult> {
    return this.xclient(msg.servicePath).sendRaw(msg, options);
  }

  /** Go: `OneClient.Broadcast`. */
  async broadcast<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options?: XCallOptions): Promise<T> {
    return this.xclient(servicePath).broadcast<T>(serviceMethod, args, options);
  }

  /** Go: `OneClient.Fork`. */
  async fork<T = unknown>(servicePath: string, serviceMethod: string, args: unknown, options?: XCallOptions): Promise<T> {
    return this.xclient(servicePath).fork<T>(serviceMethod, args, options);
  }

  /** A typed proxy of one service: `oc.proxy<Arith>('Arith').Mul({ A: 2, B: 3 })`. */
  proxy<T extends object>(servicePath: string): ServiceProxy<T> {
    return createProxy<T>({ call: (m, a, o) => this.call(servicePath, m, a, o) });
  }

  /** The selector of one service (Go: `OneClient.SetSelector`), for its XClient now or when it is made. */
  setSelector(servicePath: string, selector: Selector): void {
    this.selectors.set(servicePath, selector);
    this.xclients.get(servicePath)?.setSelector(selector);
  }

  /** Nearest-server selection for every service (Go: `OneClient.ConfigGeoSelector`). */
  configGeoSelector(latitude: number, longitude: number): void {
    this.geo = { latitude, longitude };
    for (const xc of this.xclients.values()) xc.configGeoSelector(latitude, longitude);
  }

  /** The `__AUTH` token of every service (Go: `OneClient.Auth`). */
  auth(token: string): void {
    this.authToken = token;
    for (const xc of this.xclients.values()) xc.auth(token);
  }

  /**
   * Connection status changes of every service's XClient (see {@link XClient.status}), each
   * with its `servicePath`; returns an unsubscribe function.
   */
  onStatus(cb: (s: XClientStatus & { servicePath: string }) => void): () => void {
    this.statusCallbacks.add(cb);
    return () => this.statusCallbacks.delete(cb);
  }

  /** Closes every service's XClient (Go: `OneClient.Close`); later calls fail with `CONNECTION`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.xclients.values()];
    await Promise.all(all.map((xc) => xc.close()));
    this.statusCallbacks.clear();
    this.onClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Called at the end of {@link close}. */
  protected onClosed(): void {}
}

/**
 * A {@link OneClient} whose services receive server pushes, merged into one stream (Go:
 * `NewBidirectionalOneClient(..., serverMessageChan)`, which gives every service's XClient the
 * same channel). The push rules are those of {@link BidirectionalXClient}: discarded while no
 * consumer is attached, `pushPolicy` `'drop'` (default) or `'block'` once `pushBufferSize`
 * pushes wait.
 */
export class BidirectionalOneClient extends OneClient {
  private readonly merge: PushMerge;

  constructor(options: OneClientOptions) {
    super(options);
    this.merge = new PushMerge(options.pushBufferSize ?? 1024, options.pushPolicy ?? 'drop', 'oneclient');
  }

  protected override newXClient(servicePath: string, options: XClientOptions): XClient {
    // The XClient loses nothing (`block`); the merged stream applies the caller's policy.
    const xc = new BidirectionalXClient(servicePath, { ...options, pushPolicy: 'block' });
    this.merge.add(xc.messages());
    return xc;
  }

  /** Pushes from every service and server as one async iterable; ends at `close()`. */
  messages(): AsyncIterable<Message> {
    return this.merge.messages();
  }

  /** Pushes to a callback instead (not both); an exception it throws is logged and swallowed. */
  onMessage(cb: (msg: Message) => void): void {
    this.merge.onMessage(cb);
  }

  /** Pushes not delivered: discarded for want of a consumer plus dropped on overflow. */
  get droppedMessages(): number {
    return this.merge.droppedMessages;
  }

  /** Pushes discarded because no consumer was attached. */
  get discardedMessages(): number {
    return this.merge.discardedMessages;
  }

  protected override onClosed(): void {
    this.merge.end();
  }
}

/** Creates a {@link OneClient} (Go: `client.NewOneClient`). */
export function createOneClient(options: OneClientOptions): OneClient {
  return new OneClient(options);
}

/** Creates a {@link BidirectionalOneClient} (Go: `client.NewBidirectionalOneClient`). */
export function createBidirectionalOneClient(options: OneClientOptions): BidirectionalOneClient {
  return new BidirectionalOneClient(options);
}
