/** Go: `protocol.MessageType`. Bit 7 of header byte 2. */
export const MessageType = {
  Request: 0,
  Response: 1,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Go: `protocol.MessageStatusType`. Bits 1..0 of header byte 2 (2 and 3 are unassigned but carried). */
export const MessageStatusType = {
  Normal: 0,
  Error: 1,
} as const;
export type MessageStatusType = number;

/** Go: `protocol.CompressType`. Bits 4..2 of header byte 2; 2..7 are unassigned. */
export const CompressType = {
  None: 0,
  Gzip: 1,
} as const;
export type CompressType = number;

/** Go: `protocol.SerializeType` (`share.Codecs`). High nibble of header byte 3. */
export const SerializeType = {
  SerializeNone: 0,
  JSON: 1,
  ProtoBuffer: 2,
  MsgPack: 3,
  Thrift: 4,
} as const;
export type SerializeType = number;

/** Reserved metadata keys (Go: `protocol.ServiceError`, `share.AuthKey`, `share.ServerTimeout`). */
export const MetaKey = {
  /** Response metadata key carrying a server error text. */
  ServiceError: '__rpcx_error__',
  /** Request metadata key carrying the auth token. */
  Auth: '__AUTH',
  /** Request metadata key carrying the client's remaining deadline in decimal milliseconds. */
  ServerTimeout: '__ServerTimeout',
  /** Key of the server address in the synthetic message a Go client injects when a connection dies. */
  Server: 'server',
  /**
   * Key a Go client adds to a call's non-empty response metadata, locally (not on the wire): the
   * answering server's address, Go's `Conn.RemoteAddr().String()` (share.ServerAddress).
   */
  ServerAddress: '__ServerAddress',
} as const;

/** The first byte of every frame (Go: `protocol.MagicNumber()`). */
export const MAGIC = 0x08;
/** Header bytes before the total-length field. */
export const HEADER_LENGTH = 12;
/** Header plus the 4-byte total-length field: what a decoder needs to size a frame. */
export const PREFIX_LENGTH = 16;
/** Go compresses a payload only when it is longer than this (client/client.go, server/server.go). */
export const COMPRESS_THRESHOLD = 1024;

/** Flag masks of header byte 2. */
export const Flag = {
  Response: 0x80,
  Heartbeat: 0x40,
  Oneway: 0x20,
  CompressMask: 0x1c,
  StatusMask: 0x03,
} as const;
