import { ErrorCode, RpcxError, ServiceError } from '../../errors.js';
import { CodecRegistry } from '../../codec/registry.js';
import { JsonCodec } from '../../codec/json.js';
import { MsgpackCodec } from '../../codec/msgpack.js';
import { Timestamp } from '../../codec/timestamp.js';
import type { CodecOptions } from '../../codec/types.js';
import { RawCodec } from '../../codec/none.js';
import { ProtobufCodec, parseProto } from '../../codec/protobuf.js';
import { Float32, Float64 } from '../../codec/gotypes.js';
import { ThriftCodec } from '../../codec/thrift.js';
import type { RequestContext } from '../context.js';
import type { ServerConnection } from '../connection.js';
import type { RpcxServer } from '../server.js';
import { ALLTYPES_PROTO, ARITH_PROTO, BENCHMARK_PROTO } from './schemas.js';
import { ThriftAllTypes, ThriftArithArgs, ThriftArithReply } from './thrift-schemas.js';

/*
 * The demo services of `rpcx serve`: a mirror of the Go interop server's services
 * (interop/go/internal/services), same names, same field names, same semantics and error texts,
 * so that one Go client test suite passes against both servers.
 */

/** The args type hint of methods whose Go args are a struct (see {@link DemoMsgpackCodec}). */
const GO_STRUCT: unique symbol = Symbol('Go struct args');

/**
 * msgpack as the Go server decodes args into a struct (vmihailenco/msgpack v5): a payload that
 * does not start with a map (or an array, or nil) fails with Go's text, `msgpack: unexpected
 * code=c1 decoding map length`, rather than the generic `decoding interface{}` one.
 */
class DemoMsgpackCodec extends MsgpackCodec {
  override decode(data: Uint8Array, options?: CodecOptions): unknown {
    if (options?.type === GO_STRUCT && data.length > 0) {
      const c = data[0]!;
      if (!(c === 0xc0 || (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf))) {
        throw new RpcxError(ErrorCode.CODEC, `msgpack: unexpected code=${c.toString(16)} decoding map length`);
      }
    }
    return super.decode(data);
  }
}

/** Type hints for `methods` whose Go args are structs. */
function goStructArgs(...methods: string[]): Record<string, { args: symbol }> {
  return Object.fromEntries(methods.map((m) => [m, { args: GO_STRUCT }]));
}

/**
 * The codecs the demo server uses: msgpack keeps Go's int64 (`d3`) as bigint and time.Time with
 * nanoseconds, so echoed values go back to Go as Go sent them; plus protobuf and thrift.
 */
export function demoCodecs(): CodecRegistry {
  return new CodecRegistry([
    new RawCodec(),
    new JsonCodec(),
    new ProtobufCodec(),
    new DemoMsgpackCodec({ bigint: 'int64', time: 'timestamp' }),
    new ThriftCodec(),
  ]);
}

type Int = number | bigint;
const INT53 = 2 ** 53;

function toBig(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number' && Number.isInteger(x)) return BigInt(x);
  return 0n;
}

/** A Go `int` (64-bit) result: a number when exact, else a bigint. */
function goInt(b: bigint): Int {
  const v = BigInt.asIntN(64, b);
  return v >= -INT53 && v <= INT53 ? Number(v) : v;
}

function intField(o: unknown, k: string): Int {
  const v = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' || typeof v === 'bigint' ? v : 0;
}

/** The msgpack code a value was (most likely) encoded with, for Go's `invalid code=xx` text. */
function msgpackCode(v: unknown): string {
  let c = 0xc0;
  if (typeof v === 'boolean') c = v ? 0xc3 : 0xc2;
  else if (typeof v === 'number') c = 0xcb;
  else if (typeof v === 'string') {
    const n = Buffer.byteLength(v);
    c = n < 32 ? 0xa0 | n : n < 256 ? 0xd9 : n < 65536 ? 0xda : 0xdb;
  } else if (v instanceof Uint8Array) c = v.length < 256 ? 0xc4 : v.length < 65536 ? 0xc5 : 0xc6;
  else if (Array.isArray(v)) c = v.length < 16 ? 0x90 | v.length : v.length < 65536 ? 0xdc : 0xdd;
  else if (v instanceof Map) c = v.size < 16 ? 0x80 | v.size : 0xde;
  else if (typeof v === 'object' && v !== null) {
    const n = Object.keys(v).length;
    c = n < 16 ? 0x80 | n : 0xde;
  }
  return c.toString(16);
}

function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number ' + String(v);
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/**
 * Go decodes the args into `struct{A, B int}`: a field of another kind fails with the codec's
 * text (vmihailenco: `msgpack: invalid code=a1 decoding int64`; encoding/json: `json: cannot
 * unmarshal string into Go struct field ArithArgs.A of type int`). Mirror that.
 */
function checkIntArgs(args: unknown, ctx: RequestContext | undefined, struct: string, fields: readonly string[]): void {
  if (args === null || args === undefined || typeof args !== 'object') return;
  for (const k of fields) {
    const v = (args as Record<string, unknown>)[k];
    if (v === undefined || v === null || typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) continue;
    const st = ctx?.request.serializeType;
    if (st === 1) throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${k} of type int`);
    throw new Error(`msgpack: invalid code=${msgpackCode(v)} decoding int64`);
  }
}

function mul(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (Number.isSafeInteger(r)) return r;
  }
  return goInt(toBig(a) * toBig(b));
}

function add(a: Int, b: Int): Int {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  return goInt(toBig(a) + toBig(b));
}

/** Go's `/` on int: truncates toward zero; MinInt64 / -1 wraps. */
function div(a: Int, b: Int): Int {
  return goInt(toBig(a) / toBig(b));
}

/** Go: `ErrDivideByZero` with the reply `{C: -1}` set before failing (an error reply with a payload). */
function divideByZero(int64: boolean): ServiceError {
  return new ServiceError('divide by zero', undefined, { C: int64 ? -1n : -1 });
}

const AB = ['A', 'B'] as const;

/** Go: `services.Arith` — `{A, B int}` → `{C int}` (msgpack, JSON). */
export class Arith {
  Mul(args: { A?: Int; B?: Int }, ctx?: RequestContext): { C: Int } {
    checkIntArgs(args, ctx, 'ArithArgs', AB);
    return { C: mul(intField(args, 'A'), intField(args, 'B')) };
  }

  Add(args: { A?: Int; B?: Int }, ctx?: RequestContext): { C: Int } {
    checkIntArgs(args, ctx, 'ArithArgs', AB);
    return { C: add(intField(args, 'A'), intField(args, 'B')) };
  }

  Div(args: { A?: Int; B?: Int }, ctx?: RequestContext): { C: Int } {
    checkIntArgs(args, ctx, 'ArithArgs', AB);
    const b = intField(args, 'B');
    if (b === 0 || b === 0n) throw divideByZero(false);
    return { C: div(intField(args, 'A'), b) };
  }
}

/** Arith on int64 fields (protobuf `ArithPB`, thrift `ArithThrift`): replies carry bigints. */
class Arith64 {
  Mul(args: { A?: Int; B?: Int }): { C: bigint } {
    return { C: BigInt.asIntN(64, toBig(intField(args, 'A')) * toBig(intField(args, 'B'))) };
  }

  Add(args: { A?: Int; B?: Int }): { C: bigint } {
    return { C: BigInt.asIntN(64, toBig(intField(args, 'A')) + toBig(intField(args, 'B'))) };
  }

  Div(args: { A?: Int; B?: Int }): { C: bigint } {
    const b = toBig(intField(args, 'B'));
    if (b === 0n) throw divideByZero(true);
    return { C: BigInt.asIntN(64, toBig(intField(args, 'A')) / b) };
  }
}

function sleepSignal(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Go's zero `time.Time` (0001-01-01T00:00:00Z). */
const GO_ZERO_TIME = new Timestamp(-62_135_596_800n, 0);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map);
}

/** Go `services.Inner{Name string; Value int64}` as Go decodes it: missing fields are zero. */
function goInner(v: unknown): { Name: unknown; Value: unknown } {
  const o = isRecord(v) ? v : {};
  return { Name: o.Name ?? '', Value: o.Value ?? 0n };
}

/**
 * The fields of Go `services.Object`, in declaration order: `zero` for a value type (a missing or
 * null field is the zero value), `null` for a nil-able one (pointer, slice, map, []byte).
 */
const OBJECT_FIELDS: readonly [string, (() => unknown) | null][] = [
  ...['Int', 'Int8', 'Int16', 'Int32'].map((k) => [k, () => 0] as [string, () => unknown]),
  ['Int64', () => 0n], // d3, as Go writes an int64
  ...['Uint', 'Uint8', 'Uint16', 'Uint32', 'Uint64'].map((k) => [k, () => 0] as [string, () => unknown]),
  ['Float32', () => new Float32(0)],
  ['Float64', () => new Float64(0)], // cb, as Go writes a float64
  ['Bool', () => false],
  ['String', () => ''],
  ['Bytes', null],
  ['Time', () => GO_ZERO_TIME],
  ['Nested', () => goInner(undefined)],
  ['Ptr', null],
  ['NilPtr', null],
  ['Ints', null],
  ['Strings', null],
  ['Items', null],
  ['MapSS', null],
  ['MapSI', null],
];

/** Go: `services.Echo` — reflects what it receives. */
export class Echo {
  readonly #counts = new Map<string, bigint>();

  /** Echoes a raw payload (SerializeNone; also msgpack bin / JSON base64). */
  Bytes(args: unknown): unknown {
    return args ?? null;
  }

  /**
   * Echoes an Object as Go does after decoding it into `services.Object`: every field, in Go's
   * order, missing ones as Go zero values, unknown ones dropped; `Float32` re-tagged so it goes
   * back as a float32, as Go sends it.
   */
  Object(args: unknown): unknown {
    const a = isRecord(args) ? args : {};
    const out: Record<string, unknown> = {};
    for (const [k, zero] of OBJECT_FIELDS) {
      const v = a[k];
      out[k] = v === undefined || (v === null && zero !== null) ? (zero === null ? null : zero()) : v;
    }
    if (typeof out.Float32 === 'number') out.Float32 = new Float32(out.Float32);
    if (isRecord(out.Nested)) out.Nested = goInner(out.Nested);
    if (out.Ptr !== null) out.Ptr = goInner(out.Ptr);
    if (out.NilPtr !== null) out.NilPtr = goInner(out.NilPtr);
    if (Array.isArray(out.Items)) out.Items = out.Items.map(goInner);
    return out;
  }

  /** Copies every request metadata entry into the response metadata; replies `Empty{}`. */
  Metadata(_args: unknown, ctx: RequestContext): object {
    for (const [k, v] of ctx.metadata) ctx.setResponseMetadata(k, v);
    return {};
  }

  /** Waits `Ms` ms or until the deadline (then fails with `context deadline exceeded` and the reply). */
  async Sleep(args: { Ms?: Int }, ctx: RequestContext): Promise<object> {
    const start = performance.now();
    const reply = { HasDeadline: false, RemainingMs: 0n, SleptMs: 0n, Cancelled: false };
    if (ctx.deadline !== undefined) {
      reply.HasDeadline = true;
      reply.RemainingMs = BigInt(Math.trunc(ctx.deadline - Date.now()));
    }
    const ms = Number(intField(args, 'Ms'));
    let done = await sleepSignal(Math.max(0, ms), ctx.signal);
    // Node's timers may fire up to 1 ms early against performance.now(): top up, as Go's never do.
    while (done && performance.now() - start < ms) done = await sleepSignal(Math.max(1, Math.ceil(ms - (performance.now() - start))), ctx.signal);
    reply.SleptMs = BigInt(Math.trunc(performance.now() - start));
    if (done) return reply;
    reply.Cancelled = true;
    const reason: unknown = ctx.signal.reason;
    throw new ServiceError(reason instanceof Error ? reason.message : 'context canceled', undefined, reply);
  }

  /** Fails with `Text` verbatim (Go sends the `Empty{}` reply along). */
  Error(args: { Text?: unknown }): never {
    const text = args !== null && typeof args === 'object' && typeof args.Text === 'string' ? args.Text : '';
    throw new ServiceError(text, undefined, {});
  }

  /** Increments counter `Key` and returns its new value (int64). */
  Count(args: { Key?: unknown }): { Count: bigint } {
    const k = typeof args?.Key === 'string' ? args.Key : '';
    const n = (this.#counts.get(k) ?? 0n) + 1n;
    this.#counts.set(k, n);
    return { Count: n };
  }

  /** Returns counter `Key`. */
  GetCount(args: { Key?: unknown }): { Count: bigint } {
    const k = typeof args?.Key === 'string' ? args.Key : '';
    return { Count: this.#counts.get(k) ?? 0n };
  }

  /**
   * TS only (case `handler_throws`): throws what `Text` selects — `string` a string, `object` a
   * plain object, `null` null, `reject` a rejected Promise, anything else `new Error(Text)`.
   */
  Throw(args: { Text?: unknown }): Promise<never> | never {
    const text = typeof args?.Text === 'string' ? args.Text : '';
    switch (text) {
      case 'string':
        throw 'thrown string'; // eslint-disable-line no-throw-literal
      case 'object':
        throw { thrown: 'object' }; // eslint-disable-line no-throw-literal
      case 'null':
        throw null; // eslint-disable-line no-throw-literal
      case 'reject':
        return Promise.reject(new Error('rejected'));
      default:
        throw new Error(text);
    }
  }

  /**
   * Go's `Echo.Panic`: crashes with a runtime error, so the reply is the
   * `[service internal error]: ...` text (Go: a recovered panic). `Text` empty: reads a property
   * of undefined (Go: a nil pointer dereference); else a `TypeError` with `Text`.
   */
  Panic(args: { Text?: unknown }): never {
    const text = typeof args?.Text === 'string' ? args.Text : '';
    if (text === '') {
      const p = undefined as unknown as { Text: string };
      throw new Error(p.Text);
    }
    throw new TypeError(text);
  }

  /** Shadowed by the raw handler `Echo.Via` (Go's lookup order): answering `service` means the order broke. */
  Via(): { Via: string } {
    return { Via: 'service' };
  }
}

interface PushArgs {
  Path?: unknown;
  Method?: unknown;
  Metadata?: unknown;
  Payload?: unknown;
  Count?: Int;
  IntervalMs?: Int;
  BeforeReply?: unknown;
}

function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64'); // Go JSON: []byte is base64
  return new Uint8Array(0);
}

function metadataOf(v: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (v instanceof Map) {
    for (const [k, x] of v) m.set(String(k), String(x));
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) m.set(k, String((v as Record<string, unknown>)[k]));
  }
  return m;
}

/**
 * Go: `services.Push` — pushes to the calling connection with `server.sendMessage`. Each push
 * payload is `Payload` followed by the 8-byte big-endian push index.
 */
export class Push {
  readonly #server: RpcxServer;
  readonly #running = new Map<ServerConnection, Set<AbortController>>();

  constructor(server: RpcxServer) {
    this.#server = server;
  }

  /** Sends `Count` pushes `IntervalMs` apart, in the background (`Sent` 0) or before replying. */
  Start(args: PushArgs, ctx: RequestContext): Promise<{ Sent: number }> | { Sent: number } {
    return this.#start(args, ctx, Number(intField(args, 'IntervalMs')));
  }

  /** `Start` without interval. */
  Burst(args: PushArgs, ctx: RequestContext): Promise<{ Sent: number }> | { Sent: number } {
    return this.#start(args, ctx, 0);
  }

  /**
   * TS only (case `push_broadcast`): `Count` pushes to every open connection with
   * `server.broadcast`; `Sent` is the number of successful writes.
   */
  async Broadcast(args: PushArgs): Promise<{ Sent: number }> {
    const count = Number(intField(args, 'Count'));
    const prefix = bytesOf(args?.Payload);
    const meta = metadataOf(args?.Metadata);
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const data = Buffer.allocUnsafe(prefix.length + 8);
      data.set(prefix, 0);
      data.writeBigUInt64BE(BigInt(i), prefix.length);
      const r = await this.#server.broadcast(typeof args?.Path === 'string' ? args.Path : '', typeof args?.Method === 'string' ? args.Method : '', meta, data);
      sent += r.sent;
    }
    return { Sent: sent };
  }

  /** Stops this connection's background loops. */
  Stop(_args: unknown, ctx: RequestContext): { Stopped: number } {
    const set = this.#running.get(ctx.connection);
    let n = 0;
    if (set !== undefined) {
      for (const c of set) {
        c.abort();
        n++;
      }
      this.#running.delete(ctx.connection);
    }
    return { Stopped: n };
  }

  #start(args: PushArgs, ctx: RequestContext, intervalMs: number): Promise<{ Sent: number }> | { Sent: number } {
    const conn = ctx.connection;
    if (args?.BeforeReply === true) {
      return this.#send(conn, args, intervalMs, undefined).then(
        (n) => ({ Sent: n }),
        (e: { sent: number; err: unknown }) => {
          throw new ServiceError(e.err instanceof Error ? e.err.message : String(e.err), undefined, { Sent: e.sent });
        },
      );
    }
    const ac = new AbortController();
    let set = this.#running.get(conn);
    if (set === undefined) {
      set = new Set();
      this.#running.set(conn, set);
    }
    set.add(ac);
    const cleanup = (): void => {
      const s = this.#running.get(conn);
      if (s !== undefined) {
        s.delete(ac);
        if (s.size === 0) this.#running.delete(conn);
      }
    };
    // As in Go, where the loop runs in its own goroutine, the reply goes out first: a client
    // that blocks on a full push channel must not wait for the reply behind the pushes.
    setImmediate(() => this.#send(conn, args, intervalMs, ac.signal).then(cleanup, cleanup));
    return { Sent: 0 };
  }

  /** Writes the pushes; resolves with how many were written, rejects with `{sent, err}`. */
  async #send(conn: ServerConnection, a: PushArgs, intervalMs: number, signal: AbortSignal | undefined): Promise<number> {
    const count = Number(intField(a, 'Count'));
    const prefix = bytesOf(a.Payload);
    const path = typeof a.Path === 'string' ? a.Path : '';
    const method = typeof a.Method === 'string' ? a.Method : '';
    const meta = metadataOf(a.Metadata);
    let failure: unknown;
    let last: Promise<void> | undefined;
    for (let i = 0; i < count; i++) {
      if (i > 0 && intervalMs > 0) {
        if (signal !== undefined) {
          if (!(await sleepSignal(intervalMs, signal))) return i;
        } else {
          await new Promise((r) => setTimeout(r, intervalMs));
        }
      } else if (signal?.aborted) {
        return i;
      }
      if (failure !== undefined || !conn.isOpen) throw { sent: i, err: failure ?? new Error('connection closed') };
      if (conn.congested) await conn.drained();
      const data = Buffer.allocUnsafe(prefix.length + 8);
      data.set(prefix, 0);
      data.writeBigUInt64BE(BigInt(i), prefix.length);
      last = this.#server.sendMessage(conn, path, method, meta, data);
      last.catch((err: unknown) => {
        failure ??= err;
      });
      // Yield to the event loop now and then. A socket that keeps taking the writes never reports
      // congestion, and a loop that never yields starves everything else: no request of any
      // connection is read (not even Push.Stop), and the memory of every pending push is kept,
      // where Go's push goroutine is preempted. Awaiting `last` is not enough: a write that
      // completes at once calls back on process.nextTick, before any I/O. setImmediate runs
      // after the poll phase.
      if ((i & 255) === 255) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (last !== undefined) {
      try {
        await last;
      } catch (err) {
        throw { sent: count - 1, err };
      }
    }
    return count;
  }
}

/** Go: `services.Bench` — the rpcx benchmark service (protobuf `BenchmarkMessage`). */
class Bench {
  Echo(args: Record<string, unknown>): Record<string, unknown> {
    args.field1 = 'OK';
    args.field2 = 100;
    return args;
  }
}

class AllTypesEcho {
  AllTypes(args: unknown): unknown {
    return args;
  }
}

/** The registered demo services, for tests that look at their state. */
export interface DemoServices {
  echo: Echo;
  push: Push;
}

/**
 * Registers every service of the Go interop server on `server` (interop/go/internal/services
 * `Register`): Arith, Echo, Push, ArithPB, ArithThrift, Bench, EchoPB, EchoThrift, and the raw
 * handlers RawArith.Mul/Add/Div and Echo.Via. The server needs {@link demoCodecs} (or codecs with
 * protobuf and thrift) for the schema services.
 */
export function registerDemoServices(server: RpcxServer, options: { metadata?: string } = {}): DemoServices {
  const meta = options.metadata === undefined ? {} : { metadata: options.metadata };
  const echo = new Echo();
  const push = new Push(server);
  server.register(new Arith(), { ...meta, name: 'Arith', types: goStructArgs('Mul', 'Add', 'Div') });
  server.register(echo, { ...meta, name: 'Echo', types: goStructArgs('Object', 'Metadata', 'Sleep', 'Error', 'Count', 'GetCount') });
  server.register(push, { ...meta, name: 'Push' });

  const arith = parseProto(ARITH_PROTO);
  const pbArgs = arith.lookupType('rpcx.interop.ArithArgs');
  const pbReply = arith.lookupType('rpcx.interop.ArithReply');
  const arithTypes = (args: unknown, reply: unknown) => ({ Mul: { args, reply }, Add: { args, reply }, Div: { args, reply } });
  server.register(new Arith64(), { ...meta, name: 'ArithPB', types: arithTypes(pbArgs, pbReply) });
  server.register(new Arith64(), { ...meta, name: 'ArithThrift', types: arithTypes(ThriftArithArgs, ThriftArithReply) });
  const bench = parseProto(BENCHMARK_PROTO).lookupType('rpcx.interop.BenchmarkMessage');
  server.register(new Bench(), { ...meta, name: 'Bench', types: { Echo: { args: bench, reply: bench } } });
  const allTypes = parseProto(ALLTYPES_PROTO).lookupType('rpcx.interop.AllTypes');
  server.register(new AllTypesEcho(), { ...meta, name: 'EchoPB', types: { AllTypes: { args: allTypes, reply: allTypes } } });
  server.register(new AllTypesEcho(), { ...meta, name: 'EchoThrift', types: { AllTypes: { args: ThriftAllTypes, reply: ThriftAllTypes } } });

  // Raw handlers (Go: Server.AddHandler), looked up before services.
  const a = new Arith();
  for (const [method, fn] of [
    ['Mul', (x: { A?: Int; B?: Int }, ctx: RequestContext) => a.Mul(x, ctx)],
    ['Add', (x: { A?: Int; B?: Int }, ctx: RequestContext) => a.Add(x, ctx)],
    ['Div', (x: { A?: Int; B?: Int }, ctx: RequestContext) => {
      if (intField(x, 'B') === 0 || intField(x, 'B') === 0n) throw new Error('divide by zero'); // no payload, as in Go
      return a.Div(x, ctx);
    }],
  ] as const) {
    server.addHandler('RawArith', method, (ctx) => {
      const args = ctx.bind<{ A?: Int; B?: Int }>(GO_STRUCT);
      ctx.write(fn(args ?? {}, ctx));
    });
  }
  server.addHandler('Echo', 'Via', (ctx) => ctx.write({ Via: 'handler' }));
  return { echo, push };
}
