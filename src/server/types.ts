/**
 * Types the server modules share, kept here so that dependencies in src/server run one way:
 * this module imports only types, and nothing that imports it back (connection.ts is below it).
 * The layers, lowest first: connection, types, context, registry and plugins, dispatch, server.
 */
import type { MetadataInit } from '../protocol/message.js';
import type { ServerConnection } from './connection.js';

/** Result of `RpcxServer.broadcast`. */
export interface BroadcastResult {
  sent: number;
  failed: number;
}

/**
 * The server as a handler sees it through `ctx.server`: its address, its connections, and
 * pushes (Go: `Server.SendMessage`, `ActiveClientConn`). An `RpcxServer` is one; the interface
 * lets the request context name its server without importing it.
 */
export interface ServerHandle {
  /** The bound address as `network@host:port`, once `serve` resolved. */
  readonly address: string | undefined;
  /** The open connections (Go: `ActiveClientConn`). */
  readonly connections: ReadonlySet<ServerConnection>;
  /** Pushes a message to one client (Go: `Server.SendMessage`); see `RpcxServer.sendMessage`. */
  sendMessage(conn: ServerConnection, servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<void>;
  /** The open connections tagged `tag`; see `RpcxServer.connectionsTagged`. */
  connectionsTagged(tag: string): ReadonlySet<ServerConnection>;
  /** Pushes to every connection tagged `tag`; see `RpcxServer.sendMessageToTag`. */
  sendMessageToTag(tag: string, servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<BroadcastResult>;
  /** Pushes the same message to every open connection; see `RpcxServer.broadcast`. */
  broadcast(servicePath: string, serviceMethod: string, metadata?: MetadataInit, data?: Uint8Array): Promise<BroadcastResult>;
}
