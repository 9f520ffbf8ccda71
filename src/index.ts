/**
 * rpcx for Node: the rpcx wire protocol (github.com/smallnest/rpcx v1.9.4) with Node's gzip.
 */
export * from './errors.js';
export * from './protocol/index.js';
export * from './codec/index.js';
export { gzipCompressor, defaultCompressors } from './node/gzip.js';
export * from './server/index.js';
export * from './client/index.js';
export * from './stream/index.js';
