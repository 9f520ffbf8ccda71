/**
 * `rpcx listen ADDRESS [Service.Method [JSON]]`: a bidirectional client (Go:
 * `NewBidirectionalXClient`) that optionally makes the subscribing call and prints each server
 * push as one JSON line: servicePath, serviceMethod, metadata, serializeType and the payload
 * decoded by the push's serialize type (raw pushes, what Go's `Server.SendMessage` sends, as
 * base64), or by `--push-codec`.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { defaultCodecRegistry } from '../codec/defaults.js';
import { SerializeType } from '../protocol/constants.js';
import { MessageStatusType, MetaKey } from '../protocol/constants.js';
import { ErrorCode, RpcxError, ServiceError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { colours, durationOption, metaOption, numberOption, readStdin, serviceMethod, toJson, toJsonLenient, UsageError, Exit } from './common.js';
import { cliCodec, serializeTypeOf } from './codec.js';
import { isRegistryAddress, openCaller } from './target.js';
import { ADDRESS_USAGE, CONNECT_OPTIONS, CONNECT_USAGE, connectOptions } from './call.js';

export const LISTEN_USAGE = `usage: rpcx listen ADDRESS [Service.Method [JSON | -]] [options]

Opens a bidirectional connection, makes the subscribing call if one is given (its reply goes to
stderr), and prints each server push as one JSON line on stdout:
  {"servicePath":...,"serviceMethod":...,"metadata":{...},"serializeType":0,"payload":...}
The payload is decoded by the push's serialize type; raw pushes (Go's Server.SendMessage) print
as base64. Runs until Ctrl-C, the connection closes (exit 1), or --count pushes arrived.
With a registry ADDRESS a Service.Method is needed (it names the service to pick a server of).

options:
${CONNECT_USAGE}
  --push-codec NAME        decode every push payload with this codec instead (json, msgpack, raw)
  --count N                exit 0 after N pushes
  --wait DURATION          exit 1 if no push arrived for this long (default: wait forever)
${ADDRESS_USAGE}`;

const codecs = defaultCodecRegistry();

function pushLine(msg: Message, pushCodec: number | undefined): string {
  const st = pushCodec ?? msg.serializeType;
  let payload: unknown;
  let payloadError: string | undefined;
  if (st === SerializeType.SerializeNone || st === SerializeType.ProtoBuffer) payload = msg.payload;
  else {
    try {
      payload = codecs.get(st).decode(msg.payload);
    } catch (err) {
      payload = msg.payload;
      payloadError = err instanceof Error ? err.message : String(err);
    }
  }
  const metadata = Object.fromEntries([...msg.metadata].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return toJsonLenient({
    servicePath: msg.servicePath,
    serviceMethod: msg.serviceMethod,
    metadata,
    serializeType: msg.serializeType,
    seq: msg.seq,
    payload,
    ...(payloadError !== undefined ? { payloadError } : {}),
  });
}

export async function listen(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CONNECT_OPTIONS, 'push-codec': { type: 'string' }, count: { type: 'string' }, wait: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(LISTEN_USAGE);
    return Exit.OK;
  }
  const [address, sm, argText, ...extra] = positionals;
  if (address === undefined) throw new UsageError('missing ADDRESS', LISTEN_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, LISTEN_USAGE);
  const target = sm === undefined ? undefined : serviceMethod(sm, LISTEN_USAGE);
  const count = numberOption(values.count, 'count', LISTEN_USAGE, { integer: true, min: 1 });
  const waitMs = durationOption(values.wait, 'wait', LISTEN_USAGE);
  const timeoutMs = durationOption(values.timeout, 'timeout', LISTEN_USAGE) ?? 10_000;
  const metadata = metaOption(values.meta, LISTEN_USAGE);
  const pushCodec = values['push-codec'] === undefined ? undefined : serializeTypeOf(values['push-codec'], LISTEN_USAGE);
  const codec = await cliCodec({ codec: values.codec, proto: values.proto, type: values.type, replyType: values['reply-type'], service: target?.service ?? '', method: target?.method ?? '' }, LISTEN_USAGE);
  if (target === undefined && isRegistryAddress(address)) throw new UsageError('a registry ADDRESS needs Service.Method', LISTEN_USAGE);
  const caller = openCaller(address, connectOptions(values, codec.serializeType, LISTEN_USAGE), LISTEN_USAGE);
  const c = colours(process.stderr);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const pushes = (await caller.messages(target?.service ?? ''))[Symbol.asyncIterator]();
    if (target !== undefined) {
      const input = argText === undefined || argText === '-' ? (process.stdin.isTTY === true && argText === undefined ? undefined : await readStdin()) : argText;
      try {
        const r = await caller.call(target.service, target.method, codec.args(input), {
          metadata,
          timeoutMs,
          ...(codec.argsCodec !== undefined ? { argsCodec: codec.argsCodec } : {}),
          ...(codec.replyCodec !== undefined ? { replyCodec: codec.replyCodec } : {}),
        });
        process.stderr.write(c.dim(`${target.service}.${target.method} replied ${toJson(r.reply)}\n`));
      } catch (err) {
        if (err instanceof ServiceError) {
          process.stderr.write(`${c.red('rpcx: error reply:')} ${err.message}\n`);
          return Exit.FAILED;
        }
        throw err;
      }
    } else {
      // No call: connect now so that pushes the server sends on its own (broadcasts) arrive.
      await caller.connect('');
    }
    process.stderr.write(c.dim(`listening for pushes from ${caller.label}\n`));
    let n = 0;
    const stopped = new Promise<'stop'>((resolve) => stop.signal.addEventListener('abort', () => resolve('stop'), { once: true }));
    while (count === undefined || n < count) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = waitMs === undefined ? undefined : new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), waitMs)));
      const next = await Promise.race([pushes.next(), stopped, ...(idle !== undefined ? [idle] : [])]);
      clearTimeout(timer);
      if (next === 'stop') return Exit.OK;
      if (next === 'idle') {
        process.stderr.write(`${c.red('rpcx:')} no push for ${waitMs} ms (${n} received)\n`);
        return Exit.FAILED;
      }
      if (next.done === true) break;
      const msg = next.value;
      // Go injects a Request with status Error and __rpcx_error__ when the connection dies.
      if (msg.messageStatusType === MessageStatusType.Error && msg.metadata.has(MetaKey.ServiceError) && msg.servicePath === '') {
        throw new RpcxError(ErrorCode.CONNECTION, `connection lost: ${msg.metadata.get(MetaKey.ServiceError)}`);
      }
      n++;
      // A slow reader of stdout: stop taking pushes until it drains, so that memory stays bounded
      // (the client's push buffer then applies its policy, drop by default, as Go's channel does).
      if (!process.stdout.write(`${pushLine(msg, pushCodec)}\n`)) await once(process.stdout, 'drain');
    }
    if (count !== undefined && n >= count) return Exit.OK;
    throw new RpcxError(ErrorCode.CONNECTION, `the push stream ended after ${n} pushes`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await caller.close();
  }
}
