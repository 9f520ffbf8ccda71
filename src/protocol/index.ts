/**
 * The rpcx wire format (Go: package `protocol`): constants, the `Message` model, encode/decode of
 * one frame, an incremental `FrameDecoder`, the compressor interface and Go's heartbeat and push
 * frames. Portable: no `node:` imports; gzip is supplied by the runtime entry.
 */
export * from './constants.js';
export * from './message.js';
export * from './frame-decoder.js';
export * from './compress.js';
export * from './heartbeat.js';
export { utf8Decode, utf8Encode, utf8Length } from './text.js';
