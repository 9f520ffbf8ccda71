import { CompressType } from './constants.js';

/**
 * A payload compressor (Go: `protocol.Compressor`). `unzip` must refuse output longer than
 * `maxLength` before producing it, by throwing `RpcxError` with code `LIMIT`; any other failure
 * throws `RpcxError` with code `PROTOCOL`.
 */
export interface Compressor {
  zip(data: Uint8Array): Uint8Array;
  unzip(data: Uint8Array, maxLength: number): Uint8Array;
}

/**
 * Compressors keyed by `CompressType` (Go: `protocol.Compressors`). Unlike Go's package-level map,
 * a table is passed to each encoder/decoder, so two clients in one process can differ. The protocol
 * layer ships none: gzip comes from the runtime entry (`defaultCompressors` in `rpcx`, which
 * Go registers by default too, and which `rpcx`'s `encodeMessage`, `decodeMessage`,
 * `FrameDecoder`, `Client` and server use unless given another table).
 */
export type CompressorTable = ReadonlyMap<number, Compressor>;

/** Go's client rule (client/client.go): compress only payloads longer than 1024 bytes. */
export function clientCompressType(compressType: CompressType, payloadLength: number): CompressType {
  return compressType !== CompressType.None && payloadLength > 1024 ? compressType : CompressType.None;
}

/**
 * Go's server rule (server/server.go `sendResponse`): a reply is compressed with the request's
 * compress type only when the request was compressed and the reply is longer than 1024 bytes.
 */
export function serverReplyCompressType(requestCompressType: CompressType, replyLength: number): CompressType {
  return requestCompressType !== CompressType.None && replyLength > 1024 ? requestCompressType : CompressType.None;
}
