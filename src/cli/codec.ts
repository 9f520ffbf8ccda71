/**
 * `--codec json|msgpack|raw|protobuf` for the CLI: turns the JSON argument into call args of the
 * codec and a reply into JSON. Protobuf needs `--proto FILE` (repeatable) and `--type pkg.Msg`;
 * the reply type is `--reply-type`, else the method's output in a `service` of the .proto, else
 * `--type` with a trailing `Args`/`Request` turned into `Reply`/`Response` when the .proto has
 * that message, else `--type` itself.
 */
import protobuf from 'protobufjs';
import { SerializeType } from '../protocol/constants.js';
import { loadProtoSchemas } from '../codec/protobuf.js';
import type { CodecOptions } from '../codec/types.js';
import { UsageError, parseJson } from './common.js';

/** The codec names `--codec` takes. */
export const CODEC_NAMES = 'json | msgpack | raw | protobuf';

const BY_NAME: Record<string, number> = {
  json: SerializeType.JSON,
  msgpack: SerializeType.MsgPack,
  raw: SerializeType.SerializeNone,
  none: SerializeType.SerializeNone,
  protobuf: SerializeType.ProtoBuffer,
  pb: SerializeType.ProtoBuffer,
};

/** A codec chosen on the command line. */
export interface CliCodec {
  name: string;
  serializeType: number;
  /** Call args from the argument text (or stdin bytes). */
  args(input: string | Uint8Array | undefined): unknown;
  argsCodec: CodecOptions | undefined;
  replyCodec: CodecOptions | undefined;
  /** What -v says about the types used. */
  describe: string;
}

/** The serialize type of a codec name; `UsageError` for an unknown one. */
export function serializeTypeOf(name: string, usage: string): number {
  const st = BY_NAME[name.toLowerCase()];
  if (st === undefined) throw new UsageError(`--codec must be one of ${CODEC_NAMES}, got ${JSON.stringify(name)}`, usage);
  return st;
}

function lookup(root: protobuf.Root, name: string): protobuf.Type | undefined {
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

function methodOutput(root: protobuf.Root, service: string, method: string): protobuf.Type | undefined {
  let found: protobuf.Type | undefined;
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service && o.name === service) {
        const m = o.methods[method];
        if (m !== undefined) {
          m.resolve();
          found ??= m.resolvedResponseType ?? undefined;
        }
      } else if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(root);
  return found;
}

/** Builds the codec of `--codec`, loading `.proto` files for protobuf. */
export async function cliCodec(
  o: { codec?: string | undefined; proto?: string[] | undefined; type?: string | undefined; replyType?: string | undefined; service: string; method: string },
  usage: string,
): Promise<CliCodec> {
  const name = (o.codec ?? 'msgpack').toLowerCase();
  const serializeType = serializeTypeOf(name, usage);
  const text = (input: string | Uint8Array | undefined): string => (input === undefined ? '' : typeof input === 'string' ? input : new TextDecoder().decode(input));
  if (serializeType !== SerializeType.ProtoBuffer && (o.proto !== undefined || o.type !== undefined || o.replyType !== undefined)) {
    throw new UsageError('--proto, --type and --reply-type go with --codec protobuf', usage);
  }
  if (serializeType === SerializeType.SerializeNone) {
    return {
      name: 'raw',
      serializeType,
      // raw: the argument is the payload as UTF-8 text; stdin is taken byte for byte.
      args: (input) => (input === undefined ? new Uint8Array(0) : typeof input === 'string' ? new TextEncoder().encode(input) : input),
      argsCodec: undefined,
      replyCodec: undefined,
      describe: 'raw (SerializeNone): args are the bytes given, the reply is printed as a base64 JSON string',
    };
  }
  if (serializeType === SerializeType.ProtoBuffer) {
    if (o.proto === undefined || o.proto.length === 0 || o.type === undefined) throw new UsageError('--codec protobuf needs --proto FILE and --type pkg.Message', usage);
    const root = await loadProtoSchemas(o.proto);
    const argsType = lookup(root, o.type);
    if (argsType === undefined) throw new UsageError(`--type ${o.type}: no such message in ${o.proto.join(', ')}`, usage);
    let replyType: protobuf.Type | undefined;
    if (o.replyType !== undefined) {
      replyType = lookup(root, o.replyType);
      if (replyType === undefined) throw new UsageError(`--reply-type ${o.replyType}: no such message in ${o.proto.join(', ')}`, usage);
    }
    replyType ??= methodOutput(root, o.service, o.method);
    if (replyType === undefined) {
      const guess = o.type.replace(/Args$/, 'Reply').replace(/Request$/, 'Response');
      replyType = guess !== o.type ? lookup(root, guess) : undefined;
    }
    replyType ??= argsType;
    const at = argsType;
    return {
      name: 'protobuf',
      serializeType,
      args: (input) => {
        const t = text(input).trim();
        return t === '' ? {} : parseJson(t, 'the args', usage);
      },
      argsCodec: { type: at },
      replyCodec: { type: replyType },
      describe: `protobuf: args ${at.fullName.replace(/^\./, '')}, reply ${replyType.fullName.replace(/^\./, '')}`,
    };
  }
  return {
    name,
    serializeType,
    args: (input) => {
      const t = text(input).trim();
      return t === '' ? {} : parseJson(t, 'the args', usage);
    },
    argsCodec: undefined,
    replyCodec: undefined,
    describe: name,
  };
}
