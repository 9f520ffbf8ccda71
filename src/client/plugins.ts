// Client plugins: Go rpcx's `client.Plugin` hooks (client/plugin.go) that a client-side
// integration needs: `PreCall` / `PostCall` around each call (Go's XClient runs them around each
// attempt on a server: here every `Client` runs them, and an XClient's attempts are its per-server
// Clients' calls, so each attempt too), `ClientBeforeEncode` on each request and
// `ClientAfterDecode` on each message read. Connection events (Go's `ConnCreated`,
// `ClientConnected`, `ClientConnectionClose`) are the Client's `onStatus`.
import { ErrorCode, RpcxError } from '../errors.js';
import { DEADLINE_EXCEEDED, goText } from '../go-text.js';
import { toMetadataMap, type Message, type MetadataInit } from '../protocol/message.js';
import { abortError } from './deadline.js';

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

/** @internal What {@link callWithPlugins} needs of a call. */
export interface PluggedCall<R> {
  servicePath: string;
  serviceMethod: string;
  args: unknown;
  metadata: MetadataInit | undefined;
  /** The call's time budget in ms (none: undefined), which a waiting `preCall` spends too. */
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  address: string;
  /** Sends the call with the metadata the plugins left and the time left; resolves to its result. */
  run(metadata: Map<string, string>, timeoutMs: number | undefined): Promise<R>;
  /** The reply in a result (`callWithMetadata` gives `{ reply, metadata }`). */
  replyOf(result: R): unknown;
}

/**
 * @internal A call with the `preCall` / `postCall` plugins around it (the Node `Client` and the
 * `BrowserClient`): preCall may add request metadata and may wait, bounded by the call's timeout
 * and signal; a preCall that throws refuses the call (no postCall); postCall sees the reply or
 * the error, and what it throws goes to `onPostCallError`.
 */
export async function callWithPlugins<R>(plugins: readonly ClientPlugin[], c: PluggedCall<R>, onPostCallError: (err: unknown) => void): Promise<R> {
  const started = Date.now();
  const left = (): number | undefined => (c.timeoutMs === undefined ? undefined : Math.max(1, c.timeoutMs - (Date.now() - started)));
  const ctx: ClientCallContext = { metadata: toMetadataMap(c.metadata), values: new Map(), address: c.address, signal: c.signal };
  for (const p of plugins) {
    if (p.preCall === undefined) continue;
    try {
      const r = p.preCall(ctx, c.servicePath, c.serviceMethod, c.args);
      if (r !== undefined) await bounded(Promise.resolve(r), left(), c.signal);
    } catch (err) {
      throw RpcxError.from(err);
    }
  }
  const post = (reply: unknown, err: RpcxError | undefined): void => {
    for (const p of plugins) {
      try {
        p.postCall?.(ctx, c.servicePath, c.serviceMethod, c.args, reply, err);
      } catch (e) {
        onPostCallError(e);
      }
    }
  };
  let result: R;
  try {
    result = await c.run(ctx.metadata, left());
  } catch (err) {
    post(undefined, RpcxError.from(err));
    throw err;
  }
  post(c.replyOf(result), undefined);
  return result;
}

/** `p`, or a TIMEOUT after `ms`, or the signal's error, whichever comes first. */
function bounded<T>(p: Promise<T>, ms: number | undefined, signal: AbortSignal | undefined): Promise<T> {
  if (ms === undefined && signal === undefined) return p;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const timer = ms === undefined ? undefined : setTimeout(() => finish(() => reject(new RpcxError(ErrorCode.TIMEOUT, goText(DEADLINE_EXCEEDED, `call timed out after ${ms} ms`)))), ms);
    const onAbort = (): void => finish(() => reject(abortError(signal!)));
    const finish = (then: () => void): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      then();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
