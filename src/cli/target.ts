/**
 * Where `rpcx call`, `listen` and `bench` send their calls: one server written as rpcx writes
 * addresses (`tcp@host:port`, `unix@/path`, `http@host:port` through an HTTP CONNECT, a bare
 * `host:port` meaning tcp), or a registry URL (`etcd://`, `redis://`, `zk://` with a base path)
 * whose servers of the service an XClient picks from with `--select`.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, RpcxError } from '../errors.js';
import { Client, type CallOptions, type CallResult, type ClientOptions } from '../client/client.js';
import { BidirectionalXClient } from '../client/xclient.js';
import { FailMode, SelectMode } from '../client/fail-mode.js';
import type { Message } from '../protocol/message.js';
import { discoveryFor, registryTarget } from './registry.js';
import { UsageError } from './common.js';

/** One connection or XClient the CLI calls through. */
export interface Caller {
  /** What it talks to, for diagnostics. */
  readonly label: string;
  call(service: string, method: string, args: unknown, options: CallOptions): Promise<CallResult<unknown>>;
  /** Server pushes (attach before the call that makes the server push). */
  messages(service: string): Promise<AsyncIterable<Message>>;
  /** Opens the connection now (a registry: once the service's servers are known). */
  connect(service: string): Promise<void>;
  close(): Promise<void>;
}

/** Connection options from the command line (`--auth`, `--gzip`, TLS files, the codec). */
export interface ConnectOptions {
  serializeType: number;
  compressType?: number;
  auth?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  connectTimeoutMs?: number;
  /** Registry addresses: the selector (`random`, `roundrobin`, `weighted`, `hash`, ...). */
  select?: string;
}

const SELECT: Record<string, SelectMode> = {
  random: SelectMode.RandomSelect,
  randomselect: SelectMode.RandomSelect,
  roundrobin: SelectMode.RoundRobin,
  weighted: SelectMode.WeightedRoundRobin,
  weightedroundrobin: SelectMode.WeightedRoundRobin,
  weightedicmp: SelectMode.WeightedICMP,
  hash: SelectMode.ConsistentHash,
  consistenthash: SelectMode.ConsistentHash,
};

/** The select modes `--select` takes, for usage texts. */
export const SELECT_NAMES = 'random | roundrobin | weighted | weightedicmp | hash';

/** Whether `address` is a registry URL rather than one server. */
export function isRegistryAddress(address: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address);
}

function clientOptions(o: ConnectOptions): ClientOptions {
  const tls =
    o.tlsCa !== undefined || o.tlsCert !== undefined
      ? {
          ...(o.tlsCa !== undefined ? { ca: readFileSync(o.tlsCa) } : {}),
          ...(o.tlsCert !== undefined ? { cert: readFileSync(o.tlsCert) } : {}),
          ...(o.tlsKey !== undefined ? { key: readFileSync(o.tlsKey) } : {}),
        }
      : undefined;
  return {
    serializeType: o.serializeType,
    ...(o.compressType !== undefined ? { compressType: o.compressType } : {}),
    ...(o.auth !== undefined ? { auth: o.auth } : {}),
    ...(tls !== undefined ? { tls } : {}),
    connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
  };
}

/** Checks an address before anything is dialled: an unknown network is refused with `INVALID_ARGUMENT`. */
export function checkAddress(address: string): void {
  const at = address.indexOf('@');
  const network = at < 0 ? 'tcp' : address.slice(0, at);
  if (!['tcp', 'tcp4', 'tcp6', 'unix', 'http', 'ws', 'wss'].includes(network)) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `unsupported network ${JSON.stringify(network)} in ${JSON.stringify(address)}: use tcp@, unix@, http@, ws@, wss@ or a registry URL (etcd://, redis://, zk://)`);
  }
}

/** One server: a `Client` (Go `client.Client`). */
class DirectCaller implements Caller {
  readonly label: string;
  readonly #client: Client;
  constructor(address: string, options: ClientOptions) {
    this.#client = new Client(address, options);
    this.label = this.#client.address;
  }
  call(service: string, method: string, args: unknown, options: CallOptions): Promise<CallResult<unknown>> {
    return this.#client.callWithMetadata(service, method, args, options);
  }
  async messages(): Promise<AsyncIterable<Message>> {
    return this.#client.messages();
  }
  connect(): Promise<void> {
    return this.#client.connect();
  }
  close(): Promise<void> {
    return this.#client.close({ graceful: false });
  }
}

/** A registry: one `BidirectionalXClient` per service path (Go `client.NewXClient` on a registry discovery). */
class RegistryCaller implements Caller {
  readonly label: string;
  readonly #clients = new Map<string, Promise<BidirectionalXClient>>();
  constructor(
    private readonly url: string,
    private readonly options: ClientOptions,
    private readonly selectMode: SelectMode,
  ) {
    this.label = url;
  }
  #client(service: string): Promise<BidirectionalXClient> {
    let c = this.#clients.get(service);
    if (c === undefined) {
      c = (async () => {
        const discovery = await discoveryFor(registryTarget(this.url), service);
        const x = new BidirectionalXClient(service, { ...this.options, discovery, failMode: FailMode.Failtry, selectMode: this.selectMode });
        await x.whenReady();
        return x;
      })();
      this.#clients.set(service, c);
    }
    return c;
  }
  async call(service: string, method: string, args: unknown, options: CallOptions): Promise<CallResult<unknown>> {
    return (await this.#client(service)).callWithMetadata(method, args, options);
  }
  async messages(service: string): Promise<AsyncIterable<Message>> {
    return (await this.#client(service)).messages();
  }
  async connect(service: string): Promise<void> {
    await this.#client(service);
  }
  async close(): Promise<void> {
    const all = await Promise.allSettled(this.#clients.values());
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  }
}

/** A caller for `address` (one server or a registry URL). Throws `INVALID_ARGUMENT` for an address it cannot use. */
export function openCaller(address: string, options: ConnectOptions, usage: string): Caller {
  const co = clientOptions(options);
  if (isRegistryAddress(address)) {
    registryTarget(address); // an unknown scheme fails here, before anything connects
    const name = (options.select ?? 'random').toLowerCase();
    const mode = SELECT[name];
    if (mode === undefined) throw new UsageError(`--select must be one of ${SELECT_NAMES}, got ${JSON.stringify(options.select)}`, usage);
    return new RegistryCaller(address, co, mode);
  }
  if (options.select !== undefined) throw new UsageError('--select needs a registry address (etcd://, redis://, zk://)', usage);
  checkAddress(address);
  return new DirectCaller(address, co);
}
