/**
 * `rpcx call ADDRESS Service.Method [JSON]`: one call, the reply as one line of JSON on stdout
 * (Go's `encoding/json` text: bigints exact, bytes base64); with `-v`, the request, response
 * metadata and timing on stderr. An error reply exits 1 with Go's text on stderr.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CompressType } from '../protocol/constants.js';
import { ServiceError } from '../errors.js';
import { colours, durationOption, metaOption, readStdin, serviceMethod, toJson, toJsonLenient, UsageError, Exit } from './common.js';
import { cliCodec, CODEC_NAMES } from './codec.js';
import { openCaller, SELECT_NAMES, type ConnectOptions } from './target.js';

/** Options shared by call, listen and bench (connection and codec). */
export const CONNECT_OPTIONS = {
  codec: { type: 'string' },
  proto: { type: 'string', multiple: true },
  type: { type: 'string' },
  'reply-type': { type: 'string' },
  meta: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  auth: { type: 'string' },
  gzip: { type: 'boolean', default: false },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  select: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The usage lines of {@link CONNECT_OPTIONS}. */
export const CONNECT_USAGE = `  --codec NAME             ${CODEC_NAMES} (default msgpack, Go's DefaultOption)
  --proto FILE             protobuf: a .proto file (repeatable); with --type pkg.Msg for the args
  --type pkg.Msg           protobuf: the args message
  --reply-type pkg.Msg     protobuf: the reply message (default: the method's output in a proto
                           service, else --type with Args->Reply / Request->Response, else --type)
  --meta k=v               request metadata (repeatable)
  --timeout DURATION       per call, e.g. 500ms, 5s (sent to the server as __ServerTimeout; default 10s)
  --auth TOKEN             sent as __AUTH (Go: XClient.Auth)
  --gzip                   gzip request payloads over 1024 bytes
  --tls-ca FILE --tls-cert FILE --tls-key FILE   TLS (a CA to trust; a client certificate)
  --select MODE            registry addresses: ${SELECT_NAMES} (default random)
  -h, --help               this text`;

/** What ADDRESS may be, for the usage texts. */
export const ADDRESS_USAGE = `ADDRESS: tcp@host:port, host:port, unix@/path, http@host:port (HTTP CONNECT), ws@/wss@host:port (WebSocket), or a registry
         etcd://host:2379/basePath, redis://host:6379/basePath, zk://host:2181/basePath.
`;

export const CALL_USAGE = `usage: rpcx call ADDRESS Service.Method [JSON | -] [options]

Calls Service.Method once and prints the reply as one line of JSON on stdout. The args are the
JSON argument, or stdin when it is '-' or left out and stdin is not a terminal (empty: {}). With
--codec raw the argument (or stdin) is the payload itself and the reply prints as base64.
Exit status: 0 ok, 1 the call failed (Go's error text on stderr), 2 usage.

options:
${CONNECT_USAGE}
  -v, --verbose            request and response metadata and timing on stderr
${ADDRESS_USAGE}`;

/** Connection options from parsed CONNECT_OPTIONS values. */
export function connectOptions(values: { codec?: string; auth?: string; gzip?: boolean; 'tls-ca'?: string; 'tls-cert'?: string; 'tls-key'?: string; select?: string }, serializeType: number, usage: string): ConnectOptions {
  if (values['tls-key'] !== undefined && values['tls-cert'] === undefined) throw new UsageError('--tls-key needs --tls-cert', usage);
  if (values['tls-cert'] !== undefined && values['tls-key'] === undefined) throw new UsageError('--tls-cert needs --tls-key', usage);
  return {
    serializeType,
    ...(values.gzip === true ? { compressType: CompressType.Gzip } : {}),
    ...(values.auth !== undefined ? { auth: values.auth } : {}),
    ...(values['tls-ca'] !== undefined ? { tlsCa: values['tls-ca'] } : {}),
    ...(values['tls-cert'] !== undefined ? { tlsCert: values['tls-cert'] } : {}),
    ...(values['tls-key'] !== undefined ? { tlsKey: values['tls-key'] } : {}),
    ...(values.select !== undefined ? { select: values.select } : {}),
  };
}

function metadataObject(m: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export async function call(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CONNECT_OPTIONS, verbose: { type: 'boolean', short: 'v', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(CALL_USAGE);
    return Exit.OK;
  }
  const [address, sm, argText, ...extra] = positionals;
  if (address === undefined) throw new UsageError('missing ADDRESS', CALL_USAGE);
  const { service, method } = serviceMethod(sm, CALL_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, CALL_USAGE);
  const timeoutMs = durationOption(values.timeout, 'timeout', CALL_USAGE) ?? 10_000;
  const metadata = metaOption(values.meta, CALL_USAGE);
  const codec = await cliCodec({ codec: values.codec, proto: values.proto, type: values.type, replyType: values['reply-type'], service, method }, CALL_USAGE);
  const input = argText === undefined || argText === '-' ? (process.stdin.isTTY === true && argText === undefined ? undefined : await readStdin()) : argText;
  const args = codec.args(input);
  const caller = openCaller(address, connectOptions(values, codec.serializeType, CALL_USAGE), CALL_USAGE);
  const c = colours(process.stderr);
  const verbose = values.verbose;
  if (verbose) {
    process.stderr.write(c.dim(`> ${caller.label} ${service}.${method} codec ${codec.describe}${values.gzip ? ' gzip' : ''}\n`));
    if (Object.keys(metadata).length > 0) process.stderr.write(c.dim(`> metadata ${toJson(metadata)}\n`));
  }
  const start = performance.now();
  try {
    const r = await caller.call(service, method, args, {
      metadata,
      timeoutMs,
      ...(codec.argsCodec !== undefined ? { argsCodec: codec.argsCodec } : {}),
      ...(codec.replyCodec !== undefined ? { replyCodec: codec.replyCodec } : {}),
    });
    const ms = performance.now() - start;
    process.stdout.write(`${toJsonLenient(r.reply)}\n`);
    if (verbose) {
      process.stderr.write(c.dim(`< metadata ${toJson(metadataObject(r.metadata))}\n`));
      process.stderr.write(c.dim(`< ${ms.toFixed(3)} ms\n`));
    }
    return Exit.OK;
  } catch (err) {
    const ms = performance.now() - start;
    if (err instanceof ServiceError) {
      process.stderr.write(`${c.red('rpcx: error reply:')} ${err.message}\n`);
      if (verbose) {
        process.stderr.write(c.dim(`< metadata ${toJson(metadataObject(err.metadata))}\n`));
        process.stderr.write(c.dim(`< ${ms.toFixed(3)} ms\n`));
      }
      return Exit.FAILED;
    }
    throw err;
  } finally {
    await caller.close();
  }
}
