/**
 * The browser entry (`rpcx/browser`): the portable wire format, the JSON, msgpack and raw codecs,
 * and {@link BrowserClient}, an rpcx client over the browser's WebSocket (Go rpcx: `client.Client`
 * on the `ws`/`wss` networks). No `node:` imports; bundle it with esbuild or any bundler.
 */
export * from '../errors.js';
export * from '../protocol/index.js';
export { JsonCodec, SERIALIZE_JSON } from '../codec/json.js';
export { MsgpackCodec, SERIALIZE_MSGPACK } from '../codec/msgpack.js';
export { RawCodec, SERIALIZE_NONE } from '../codec/none.js';
export { CodecRegistry } from '../codec/registry.js';
export type { Codec, CodecOptions } from '../codec/types.js';
// Protobuf is in `rpcx/browser/protobuf` (src/browser/protobuf.ts): protobufjs is CommonJS, and a
// bundler keeps it whenever its module is imported, which would put ~120 KB into every bundle.
export * from '../codec/thrift.js';
export { BrowserClient, webSocketUrl } from './client.js';
export { BrowserXClient } from './xclient.js';
export type { BrowserServers, BrowserXClientOptions, BrowserXClientStatus } from './xclient.js';
export { FailMode, SelectMode, MultiError, XCLIENT_NO_SERVER, type Receipt } from '../client/fail-mode.js';
export {
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
  ConsistentHashSelector,
  GeoSelector,
  consistentHashKey,
  type Selector,
  type SelectContext,
  type ServerMap,
} from '../client/selectors.js';
export type { GoFormatOptions } from '../client/gofmt.js';
export type { ServiceProxy } from '../client/proxy.js';
export { browserCompressors, browserGzipCompressor } from './gzip.js';
export type { BrowserClientOptions, BrowserCallOptions, BrowserClientStatus, BrowserReconnectOptions, BrowserWebSocket, BrowserWebSocketConstructor } from './client.js';
