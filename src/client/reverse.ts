/**
 * Reverse RPC, the calling side (Go net/rpc's reverse RPC; rpcx has none): the caller listens,
 * providers behind a firewall dial in (`dialAndServe`) and serve over that connection, and the
 * caller gets one {@link Client} per accepted connection.
 */
import type { TlsOptions } from 'node:tls';
import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import { listen, type Listener, type ServeNetwork } from '../server/listen.js';
import { AsyncQueue } from './async-queue.js';
import { Client, type ClientOptions } from './client.js';

const log = createDebug('rpcx:client');

export interface AcceptClientsOptions extends Omit<ClientOptions, 'tls'> {
  /** Serve TLS: key, cert, ... as for `tls.createServer` (providers then dial with `tls`). */
  tls?: TlsOptions;
  /** CONNECT path of the `http` network (default `/_rpcx_`). */
  rpcPath?: string;
  /**
   * Clients accepted but not yet taken by the iterator; a connection arriving when this many
   * wait is closed at once (default 1,024).
   */
  maxQueued?: number;
  /** Open clients at once (taken or not); more connections are closed at once (default 10,000). */
  maxClients?: number;
}

/**
 * The listener of {@link acceptClients}: an async iterable of a `Client` per accepted
 * connection (one consumer), in arrival order. Each client calls the provider that dialled in;
 * it does not reconnect (the provider does). `close()` stops listening, ends the iteration and
 * closes every client it made.
 */
export class ClientAcceptor implements AsyncIterable<Client> {
  /** The bound address, `network@host:port`: what providers dial. */
  readonly address: string;
  readonly #listener: Listener;
  readonly #queue: AsyncQueue<Client>;
  readonly #clients = new Set<Client>();
  readonly #maxClients: number;
  #closed = false;

  /** @internal */
  constructor(listener: Listener, queue: AsyncQueue<Client>, maxClients: number) {
    this.address = listener.address;
    this.#listener = listener;
    this.#queue = queue;
    this.#maxClients = maxClients;
  }

  /** Clients open now (taken by the iterator or waiting). */
  get size(): number {
    return this.#clients.size;
  }

  /** @internal */
  add(client: Client): boolean {
    if (this.#closed || this.#clients.size >= this.#maxClients || this.#queue.full) return false;
    this.#clients.add(client);
    client.onStatus((s) => {
      if (s.type === 'disconnected' || s.type === 'closed') this.#clients.delete(client);
    });
    this.#queue.push(client);
    return true;
  }

  [Symbol.asyncIterator](): AsyncIterator<Client> {
    return this.#queue[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.end();
    // The listener's close may wait for its connections: close the clients alongside.
    const clients = [...this.#clients];
    this.#clients.clear();
    await Promise.all([this.#listener.close(), ...clients.map((c) => c.close({ graceful: false }))]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Reverse RPC, calling side: listens on `network`/`address` (as `server.serve`) and yields a
 * {@link Client} over each accepted connection: the provider that dialled in (`dialAndServe`)
 * serves its services on it. `options` apply to every client (codec, timeouts, pushes: a
 * provider's `sendMessage` arrives as a push). Go rpcx has no counterpart.
 *
 * ```ts
 * const acceptor = await acceptClients('tcp', '0.0.0.0:9000');
 * for await (const provider of acceptor) {
 *   console.log(await provider.call('Arith', 'Mul', { A: 6, B: 7 }));
 * }
 * ```
 */
export async function acceptClients(network: ServeNetwork, address: string, options: AcceptClientsOptions = {}): Promise<ClientAcceptor> {
  const { tls, rpcPath, maxQueued, maxClients, ...clientOptions } = options;
  const queue = new AsyncQueue<Client>(Math.max(1, maxQueued ?? 1024));
  let acceptor: ClientAcceptor | undefined;
  const early: Parameters<ListenOnSocket>[0][] = [];
  const listener = await listen(network, address, {
    tls,
    rpcPath: rpcPath ?? '/_rpcx_',
    onSocket: (socket, remote) => {
      if (acceptor === undefined) {
        early.push(socket);
        return;
      }
      accept(acceptor, socket, remote, network, clientOptions);
    },
    onError: (err) => {
      if (log.enabled) log('acceptClients listener error: %s', err.message);
    },
  });
  acceptor = new ClientAcceptor(listener, queue, Math.max(1, maxClients ?? 10_000));
  for (const s of early) accept(acceptor, s, 'duplex', network, clientOptions);
  return acceptor;
}

type ListenOnSocket = Parameters<typeof listen>[2]['onSocket'];

function accept(acceptor: ClientAcceptor, socket: Parameters<ListenOnSocket>[0], remote: string, network: ServeNetwork, options: Omit<ClientOptions, 'tls'>): void {
  if (network !== 'unix') socket.setNoDelay?.(true);
  let client: Client;
  try {
    client = Client.fromDuplex(socket, { ...options, address: `${network === 'unix' ? 'unix' : 'tcp'}@${remote}` });
  } catch (err) {
    socket.destroy();
    if (log.enabled) log('acceptClients: %s', RpcxError.from(err, ErrorCode.CONNECTION).message);
    return;
  }
  if (!acceptor.add(client)) {
    if (log.enabled) log('acceptClients: %s refused (closed, or too many clients waiting)', remote);
    void client.close({ graceful: false });
  }
}
