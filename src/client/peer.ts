import createDebug from 'debug';
import { ErrorCode, RpcxError } from '../errors.js';
import type { CodecRegistry } from '../codec/registry.js';
import { pushMessage } from '../protocol/heartbeat.js';
import { toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';
import type { FrameConnection } from '../node/frame-connection.js';
import { ServerConnection } from '../server/connection.js';
import { Dispatcher } from '../server/dispatch.js';
import { PluginContainer } from '../server/plugins.js';
import { ServiceRegistry } from '../server/registry.js';
import type { BroadcastResult, ServerHandle } from '../server/types.js';

const log = createDebug('rpcx:client');
const EMPTY = new Uint8Array(0);
const NONE: ReadonlySet<ServerConnection> = new Set();

/** @internal What a client's peer side needs from its client. */
export interface ClientPeerConfig {
  readonly address: string;
  readonly codecs: CodecRegistry;
  /** Default deadline of a call the client's handlers make back to the server (`ctx.connection.call`). */
  readonly peerCallTimeoutMs: number | undefined;
  /** Seqs for `sendMessage` from the client side (oneway requests). */
  nextSeq(): bigint;
  /** The services to serve; shared by every client of an XClient. Default: a registry of its own. */
  readonly registry?: ServiceRegistry | undefined;
}

/**
 * @internal The serving half of a {@link Client}: the services the client registered, and the
 * dispatcher that runs them for the server's calls — the server's own `Dispatcher`,
 * `ServiceRegistry` and `ServerConnection`, reused as they are. Each connection the client makes
 * gets a `ServerConnection` around its `FrameConnection`, which is what a handler sees as
 * `ctx.connection` (its `call` calls the server back: symmetric calls).
 *
 * `ctx.server` is a small handle: `sendMessage(conn, ...)` sends a oneway request to the server
 * (the server runs it as a oneway call), `broadcast` does the same on the one connection, and
 * tags do not exist on a client (`connectionsTagged` is always empty).
 */
export class ClientPeer implements ServerHandle {
  readonly registry: ServiceRegistry;
  readonly plugins = new PluginContainer();
  readonly #c: ClientPeerConfig;
  readonly #dispatcher: Dispatcher;
  #conn: ServerConnection | undefined;
  #frames: FrameConnection | undefined;

  constructor(config: ClientPeerConfig) {
    this.#c = config;
    this.registry = config.registry ?? new ServiceRegistry();
    this.#dispatcher = new Dispatcher({
      server: this,
      registry: this.registry,
      codecs: config.codecs,
      plugins: this.plugins,
      authFunc: undefined,
      serverErrorFunc: undefined,
      handleServiceError: (err) => {
        if (log.enabled) log('%s: handler for the server failed: %s', config.address, err instanceof Error ? err.message : String(err));
      },
    });
  }

  get address(): string {
    return this.#c.address;
  }

  get connections(): ReadonlySet<ServerConnection> {
    return this.#conn === undefined ? NONE : new Set([this.#conn]);
  }

  /** The connection as a `ServerConnection` (created on first use per socket). */
  connectionFor(frames: FrameConnection): ServerConnection {
    if (this.#frames === frames && this.#conn !== undefined) return this.#conn;
    const conn = new ServerConnection(frames, `client@${this.#c.address}`, {
      maxInFlight: 4096,
      maxQueuedReplyBytes: 16 * 1024 * 1024,
      readTimeoutMs: 0,
      writeTimeoutMs: 0,
    });
    conn.wire({ codecs: this.#c.codecs, ...(this.#c.peerCallTimeoutMs === undefined ? {} : { peerCallTimeoutMs: this.#c.peerCallTimeoutMs }) });
    this.#conn = conn;
    this.#frames = frames;
    return conn;
  }

  /** A call from the server (see `isPeerCall`): run it as a server runs a request. */
  onCall(frames: FrameConnection, msg: Message): void {
    this.#dispatcher.onMessage(this.connectionFor(frames), msg);
  }

  /** A Response in the peer-call seq space; false if no call awaits it. */
  onReply(frames: FrameConnection, msg: Message): boolean {
    if (this.#frames !== frames || this.#conn === undefined) return false;
    return this.#conn.onPeerReply(msg);
  }

  /** The socket closed: handlers see `ctx.signal` abort, calls to the server fail with CONNECTION. */
  detach(frames: FrameConnection, err: RpcxError | undefined): void {
    if (this.#frames !== frames) return;
    const conn = this.#conn;
    this.#conn = undefined;
    this.#frames = undefined;
    conn?.onClosed(err ?? new RpcxError(ErrorCode.CONNECTION, `connection to ${this.#c.address} closed`));
  }

  connectionsTagged(): ReadonlySet<ServerConnection> {
    return NONE;
  }

  sendMessageToTag(): Promise<BroadcastResult> {
    return Promise.resolve({ sent: 0, failed: 0 });
  }

  sendMessage(conn: ServerConnection, servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<void> {
    if (!conn.isOpen) return Promise.reject(new RpcxError(ErrorCode.CONNECTION, `connection to ${this.#c.address} is closed`));
    let msg: Message;
    try {
      msg = pushMessage(this.#c.nextSeq(), servicePath, serviceMethod, toMetadataMap(metadata), data ?? EMPTY);
    } catch (err) {
      return Promise.reject(RpcxError.from(err, ErrorCode.INVALID_ARGUMENT));
    }
    return new Promise((resolve, reject) => conn.send(msg, (err) => (err === undefined ? resolve() : reject(err))));
  }

  async broadcast(servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<BroadcastResult> {
    const conn = this.#conn;
    if (conn === undefined) return { sent: 0, failed: 0 };
    try {
      await this.sendMessage(conn, servicePath, serviceMethod, metadata, data);
      return { sent: 1, failed: 0 };
    } catch {
      return { sent: 0, failed: 1 };
    }
  }
}
