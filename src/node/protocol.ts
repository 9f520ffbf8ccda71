import {
  FrameDecoder as PortableFrameDecoder,
  decodeMessage as portableDecodeMessage,
  encodeMessage as portableEncodeMessage,
  type DecodeOptions,
  type EncodeOptions,
  type Message,
} from '../protocol/index.js';
import { defaultCompressors } from './gzip.js';

// The frame functions of the Node entry (`rpcx`): those of `rpcx/protocol` with Go's default
// compressor table (`protocol.Compressors`: None and Gzip) when no `compressors` are given, so
// that they behave as Go's `Encode`/`Decode` do with no setup.

function withGzip<T extends { compressors?: DecodeOptions['compressors'] }>(options: T): T {
  return options.compressors !== undefined ? options : { ...options, compressors: defaultCompressors };
}

/**
 * Encodes a message to one frame (Go: `Message.Encode`). As Go's `protocol.Compressors` does by
 * default, gzip is available: a message with `compressType` Gzip has its payload gzipped. Pass
 * `compressors` to use another table; a compress type missing from it is sent as None, as in Go.
 */
export function encodeMessage(msg: Message, options: EncodeOptions = {}): Uint8Array {
  return portableEncodeMessage(msg, withGzip(options));
}

/**
 * Decodes one whole frame (Go: `Message.Decode`). Gzip frames decode with no setup, as in Go
 * (`protocol.Compressors` registers Gzip); a frame with a compress type missing from the table
 * (`compressors`, default Go's: gzip) is a PROTOCOL error, as Go's `unsupported compressor`.
 * The returned payload is a view into `frame` unless it was decompressed; `base` is added to
 * offsets in error messages.
 */
export function decodeMessage(frame: Uint8Array, options: DecodeOptions = {}, base = 0): Message {
  return portableDecodeMessage(frame, withGzip(options), base);
}

/**
 * The incremental frame decoder of `rpcx/protocol` (see there) with Go's default compressors
 * (gzip) when `compressors` is not given, as Go's `Decode` reading frames off a connection.
 */
export class FrameDecoder extends PortableFrameDecoder {
  constructor(options: DecodeOptions = {}) {
    super(withGzip(options));
  }
}
