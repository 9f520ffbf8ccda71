import { Buffer } from 'buffer';
import { MessageType, SerializeType } from './constants.js';
import { createMessage, type Message } from './message.js';

/**
 * The payload Go's client puts in a heartbeat (client/client.go): `time.Now().UnixNano()` encoded
 * by msgpack as an int64, which vmihailenco/msgpack always writes as `d3` + 8 bytes big-endian.
 */
export function heartbeatPayload(unixNano: bigint): Uint8Array {
  const b = Buffer.allocUnsafe(9);
  b[0] = 0xd3;
  b.writeBigInt64BE(BigInt.asIntN(64, unixNano), 1);
  return b;
}

/** Reads the int64 back from a heartbeat payload, or `undefined` if it is not a msgpack d3. */
export function readHeartbeatPayload(payload: Uint8Array): bigint | undefined {
  if (payload.length !== 9 || payload[0] !== 0xd3) return undefined;
  return Buffer.from(payload.buffer, payload.byteOffset, 9).readBigInt64BE(1);
}

/**
 * A heartbeat request exactly as Go's client sends it: empty path and method, heartbeat flag,
 * serialize type forced to MsgPack, the time payload, a normal seq.
 */
export function heartbeatRequest(seq: bigint, unixNano: bigint): Message {
  return createMessage({
    messageType: MessageType.Request,
    heartbeat: true,
    serializeType: SerializeType.MsgPack,
    seq,
    payload: heartbeatPayload(unixNano),
  });
}

/**
 * The reply Go's server writes to a heartbeat (server/server_conn.go): the request itself with the
 * response bit set — same seq, path, method, metadata, payload, serializer, flags, oneway included.
 */
export function heartbeatReply(req: Message): Message {
  return { ...req, messageType: MessageType.Response, metadata: new Map(req.metadata) };
}

/**
 * Whether a message a client received is a server push (client/client.go `isServerMessage`):
 * exactly a request that is oneway and not a heartbeat. Anything else is matched by seq.
 */
export function isServerMessage(msg: Message): boolean {
  return msg.messageType === MessageType.Request && !msg.heartbeat && msg.oneway;
}

/**
 * A push as Go's `Server.SendMessage` builds it (server/server_response.go): a oneway request,
 * SerializeNone, the server-wide seq, the given path, method, metadata and raw payload.
 */
export function pushMessage(seq: bigint, servicePath: string, serviceMethod: string, metadata: Map<string, string>, payload: Uint8Array): Message {
  return createMessage({
    messageType: MessageType.Request,
    oneway: true,
    serializeType: SerializeType.SerializeNone,
    seq,
    servicePath,
    serviceMethod,
    metadata,
    payload,
  });
}
