/**
 * rpcx for Node: the rpcx wire protocol (github.com/smallnest/rpcx v1.9.4) with Node's gzip.
 * `encodeMessage`, `decodeMessage` and `FrameDecoder` here are the Node ones (`src/node/protocol.ts`):
 * they default to Go's compressor table (gzip), as Go's `protocol` package does; the portable ones
 * of `rpcx/protocol` take the table as an option.
 */
export * from './errors.js';
export * from './protocol/index.js';
// Explicit exports win over the `export *` above: the Node entry's frame functions know gzip.
export { encodeMessage, decodeMessage, FrameDecoder } from './node/protocol.js';
export * from './codec/index.js';
export { gzipCompressor, defaultCompressors } from './node/gzip.js';
export { duplexPair } from './node/duplex-pair.js';
export * from './server/index.js';
export * from './client/index.js';
export * from './stream/index.js';
export {
  RegistryPlugin,
  RegistryDiscovery,
  SharedResource,
  canonicalMetadata,
  goValuesEncode,
  isServerKey,
  type RegistryPluginOptions,
  type RegistryDiscoveryOptions,
} from './discovery/common.js';
