/**
 * The rpcx wire format (Go: package `protocol`): constants, the `Message` model, encode/decode of
 * one frame, an incremental `FrameDecoder`, the compressor interface and Go's heartbeat and push
 * frames. Portable: no `node:` imports; gzip is supplied by the runtime entry. So, unlike Go's
 * `protocol` package, these functions know no compressor unless given `{ compressors }`: pass
 * `defaultCompressors` from `rpcx` for Go's table (gzip), or import `encodeMessage`,
 * `decodeMessage` and `FrameDecoder` from `rpcx`, which default to it.
 */
export * from './constants.js';
export * from './message.js';
export * from './frame-decoder.js';
export * from './compress.js';
export * from './heartbeat.js';
export { utf8Decode, utf8Encode, utf8Length } from './text.js';
