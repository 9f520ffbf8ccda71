// Client plugins: Go rpcx's `client.Plugin` hooks (client/plugin.go) that a client-side
// integration needs: `PreCall` / `PostCall` around each call (Go's XClient runs them around each
// attempt on a server: here every `Client` runs them, and an XClient's attempts are its per-server
// Clients' calls, so each attempt too), `ClientBeforeEncode` on each request and
// `ClientAfterDecode` on each message read. Connection events (Go's `ConnCreated`,
// `ClientConnected`, `ClientConnectionClose`) are the Client's `onStatus`.
import type { RpcxError } from '../errors.js';
import type { Message } from '../protocol/message.js';

/** What `preCall` / `postCall` see of one call (Go: the `share.Context` of the call). */
export interface ClientCallContext {
  /**
   * The request metadata (Go: the ctx's `share.ReqMetaDataKey` map): what `preCall` sets here is
   * sent with the request, e.g. a trace context.
   */
  readonly metadata: Map<string, string>;
  /** Values a plugin keeps from its `preCall` to its `postCall` (Go: `share.Context.SetValue`). */
  readonly values: Map<unknown, unknown>;
  /** The server the call goes to, as the Client was given it (`tcp@127.0.0.1:8972`). */
  readonly address: string;
  /** The call's abort signal, if it has one. */
  readonly signal: AbortSignal | undefined;
}

/**
 * A client plugin (Go: any of the `client.*Plugin` interfaces; give it to `plugins` of a Client
 * or XClient, Go's `SetPlugins`). Every hook is optional.
 */
export interface ClientPlugin {
  /**
   * Before the call is encoded and sent (Go `PreCall`). Throwing (or rejecting) refuses the call
   * with that error, as Go returns the plugin's error, and no `postCall` runs for it.
   */
  preCall?(ctx: ClientCallContext, servicePath: string, serviceMethod: string, args: unknown): void | Promise<void>;
  /**
   * Once the call has settled (Go `PostCall`): the reply, or the error it failed with. What it
   * throws is logged (`rpcx:client`) and ignored, as Go's XClient ignores `DoPostCall`'s error.
   */
  postCall?(ctx: ClientCallContext, servicePath: string, serviceMethod: string, args: unknown, reply: unknown, err: RpcxError | undefined): void;
  /** Each request message before it is encoded, seq set (Go `ClientBeforeEncode`; errors ignored as in Go). */
  clientBeforeEncode?(req: Message): void;
  /** Each message read from the connection, replies and pushes alike (Go `ClientAfterDecode`; errors ignored as in Go). */
  clientAfterDecode?(res: Message): void;
}
