// OpenTelemetry tracing (src/otel, `rpcx/otel`) on real servers, spans recorded by the
// OpenTelemetry SDK in memory: the W3C trace context travels in the rpcx request metadata, the
// server span is the child of the client span, errors set status Error with the text, a handler
// that passes its request's trace context on continues the trace, oneway requests end their
// span, and the global provider and propagator are the defaults. Against Go's rpcxio/rpcx-plugins
// otel plugins: see the interop part at the end (interop/go/cmd/otelpeer).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type DataPoint, type Histogram as HistogramPoint } from '@opentelemetry/sdk-metrics';
import { Client } from '../src/client/client.js';
import { ServiceError } from '../src/errors.js';
import { openTelemetryClientPlugin, openTelemetryServerPlugin, requestOtelContext } from '../src/otel/index.js';
import { createServer, type RpcxServer } from '../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../src/server/demo/services.js';
import type { RequestContext } from '../src/server/context.js';
import { goBinary, goDir, requireGo } from './support/go.js';
import { startServerProcess, type ServerProcess } from './support/go-server.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('rpcx-test');
const propagator: TextMapPropagator = new W3CTraceContextPropagator();
const opts = { tracer, propagator };

/** Waits (bounded) until `n` spans whose name matches have ended. */
async function spans(match: RegExp, n: number): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const got = exporter.getFinishedSpans().filter((s) => match.test(s.name));
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The traceparent of a fresh root span, as a caller would put it in the call's metadata. */
function rootTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const root = tracer.startSpan('root');
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, root), carrier, { set: (c, k, v) => (c[k] = v) });
  root.end();
  return { traceparent: carrier['traceparent']!, traceId: root.spanContext().traceId, spanId: root.spanContext().spanId };
}

describe('rpcx/otel: tracing through rpcx metadata (TS client and server)', { timeout: 60_000 }, () => {
  let server: RpcxServer;
  let downstream: RpcxServer;
  let key: string;
  let seenMetadata: Map<string, string> | undefined;
  let downKeyValue: string | undefined;
  const downstreamKey = async (): Promise<string | undefined> => downKeyValue;
  const clients: Client[] = [];

  before(async () => {
    downstream = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(opts)] });
    registerDemoServices(downstream);
    const downKey = await downstream.serve('tcp', '127.0.0.1:0');
    downKeyValue = downKey;
    const forwarder = new Client(downKey, { plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(forwarder);
    server = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(opts)] });
    registerDemoServices(server);
    server.registerFunction(
      'Forward',
      (args: { A: number; B: number }, ctx: RequestContext) => {
        seenMetadata = new Map(ctx.metadata);
        assert.ok(requestOtelContext(ctx) !== undefined);
        // Go's way: the request metadata carries this server span's context on to the next call.
        return forwarder.call('Arith', 'Mul', args, { metadata: { traceparent: ctx.metadata.get('traceparent')! } });
      },
      'Mul',
    );
    key = await server.serve('tcp', '127.0.0.1:0');
  });
  after(async () => {
    for (const c of clients) await c.close();
    await server.close();
    await downstream.close();
  });

  it('client span -> server span, one trace; the parent given in the call metadata is kept; status Ok', async () => {
    exporter.reset();
    const c = new Client(key, { plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(c);
    const root = rootTraceparent();
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }, { metadata: { traceparent: root.traceparent } }), { C: 42 });
    const [cs] = await spans(/^rpcx\.client\.Arith\.Mul$/, 1);
    const [ss] = await spans(/^rpcx\.service\.Arith\.Mul$/, 1);
    assert.ok(cs && ss);
    assert.equal(cs.kind, SpanKind.CLIENT);
    assert.equal(ss.kind, SpanKind.SERVER);
    assert.equal(cs.spanContext().traceId, root.traceId, 'the client span continues the trace of the metadata');
    assert.equal(cs.parentSpanContext?.spanId, root.spanId);
    assert.equal(ss.spanContext().traceId, root.traceId);
    assert.equal(ss.parentSpanContext?.spanId, cs.spanContext().spanId, 'the server span is the child of the client span');
    assert.equal(ss.parentSpanContext?.isRemote, true);
    assert.equal(cs.status.code, SpanStatusCode.OK);
    assert.equal(ss.status.code, SpanStatusCode.OK);
    assert.deepEqual(ss.attributes, { 'rpc.system': 'rpcx', 'rpc.service': 'Arith', 'rpc.method': 'Mul' });
  });

  it('a service error: both spans Error with the text', async () => {
    exporter.reset();
    const c = new Client(key, { plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(c);
    await assert.rejects(c.call('Echo', 'Error', { Text: 'boom é' }), (e: unknown) => e instanceof ServiceError);
    const [cs] = await spans(/^rpcx\.client\.Echo\.Error$/, 1);
    const [ss] = await spans(/^rpcx\.service\.Echo\.Error$/, 1);
    assert.equal(cs?.status.code, SpanStatusCode.ERROR);
    assert.equal(cs?.status.message, 'boom é');
    assert.equal(ss?.status.code, SpanStatusCode.ERROR);
    assert.equal(ss?.status.message, 'boom é');
    assert.equal(ss?.parentSpanContext?.spanId, cs?.spanContext().spanId);
  });

  it('a handler passing its request trace context on: client -> server -> client -> server, one trace', async () => {
    exporter.reset();
    const c = new Client(key, { plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(c);
    assert.deepEqual(await c.call('Forward', 'Mul', { A: 3, B: 4 }), { C: 12 });
    const [c1] = await spans(/^rpcx\.client\.Forward\.Mul$/, 1);
    const [s1] = await spans(/^rpcx\.service\.Forward\.Mul$/, 1);
    const [c2] = await spans(/^rpcx\.client\.Arith\.Mul$/, 1);
    const [s2] = await spans(/^rpcx\.service\.Arith\.Mul$/, 1);
    assert.ok(c1 && s1 && c2 && s2);
    const traceId = c1.spanContext().traceId;
    for (const s of [s1, c2, s2]) assert.equal(s.spanContext().traceId, traceId, s.name);
    assert.equal(s1.parentSpanContext?.spanId, c1.spanContext().spanId);
    assert.equal(c2.parentSpanContext?.spanId, s1.spanContext().spanId, 'the downstream call is the child of the server span');
    assert.equal(s2.parentSpanContext?.spanId, c2.spanContext().spanId);
    // As Go's plugin, the server wrote its own span's context into the request metadata.
    assert.equal(seenMetadata?.get('traceparent')?.split('-')[2], s1.spanContext().spanId);
  });

  it('with a context manager, a handler\'s own calls are children of its span with nothing passed by hand (aroundCall)', async () => {
    exporter.reset();
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const down = new Client((await downstreamKey())!, { plugins: [openTelemetryClientPlugin(opts)] });
    const s = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(opts)] });
    s.registerFunction(
      'Auto',
      async (args: { A: number; B: number }) => {
        await new Promise((r) => setTimeout(r, 1)); // the context survives an await
        return down.call('Arith', 'Mul', args);
      },
      'Mul',
    );
    const k = await s.serve('tcp', '127.0.0.1:0');
    const c = new Client(k, { plugins: [openTelemetryClientPlugin(opts)] });
    try {
      assert.deepEqual(await c.call('Auto', 'Mul', { A: 7, B: 3 }), { C: 21 });
      const [s1] = await spans(/^rpcx\.service\.Auto\.Mul$/, 1);
      const [c2] = await spans(/^rpcx\.client\.Arith\.Mul$/, 1);
      assert.ok(s1 && c2);
      assert.equal(c2.parentSpanContext?.spanId, s1.spanContext().spanId, 'the downstream call is the child of the handler span');
      assert.equal(c2.spanContext().traceId, s1.spanContext().traceId);
    } finally {
      await c.close();
      await down.close();
      await s.close();
      context.disable();
    }
  });

  it('a oneway request ends its server span when the method returns; global provider and propagator by default', async () => {
    exporter.reset();
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(propagator);
    const s = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin()] });
    registerDemoServices(s);
    const k = await s.serve('tcp', '127.0.0.1:0');
    const c = new Client(k, { plugins: [openTelemetryClientPlugin()] });
    try {
      await c.oneway('Echo', 'Count', {});
      const [cs] = await spans(/^rpcx\.client\.Echo\.Count$/, 1);
      const [ss] = await spans(/^rpcx\.service\.Echo\.Count$/, 1);
      assert.ok(cs && ss, 'both spans ended');
      assert.equal(ss.parentSpanContext?.spanId, cs.spanContext().spanId);
    } finally {
      await c.close();
      await s.close();
      trace.disable();
      propagation.disable();
    }
  });

  it('no trace context in the request: the server span is a root; nothing breaks without an SDK', async () => {
    exporter.reset();
    const c = new Client(key);
    clients.push(c);
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 1, B: 1 }), { C: 1 });
    const [ss] = await spans(/^rpcx\.service\.Arith\.Mul$/, 1);
    assert.equal(ss?.parentSpanContext, undefined);
    // the plugins with no SDK registered (the API's no-op tracer): calls work, nothing recorded
    const s = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin()] });
    registerDemoServices(s);
    const k = await s.serve('tcp', '127.0.0.1:0');
    const noop = new Client(k, { plugins: [openTelemetryClientPlugin()] });
    try {
      exporter.reset();
      assert.deepEqual(await noop.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
      assert.equal(exporter.getFinishedSpans().length, 0);
    } finally {
      await noop.close();
      await s.close();
    }
  });
});

/** A metric reader the test collects from on demand. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('rpcx/otel metrics (the meter option: OpenTelemetry RPC semantic conventions, as Go WithMeter)', { timeout: 30_000 }, () => {
  it('server and client record duration, requests and responses per method and outcome; the server payload sizes', async () => {
    const reader = new TestReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('rpcx-test');
    const s = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin({ ...opts, meter })] });
    registerDemoServices(s);
    const k = await s.serve('tcp', '127.0.0.1:0');
    const c = new Client(k, { serializeType: 1, plugins: [openTelemetryClientPlugin({ ...opts, meter })] });
    try {
      await c.call('Arith', 'Mul', { A: 2, B: 3 });
      await c.call('Arith', 'Mul', { A: 20, B: 30 });
      await assert.rejects(c.call('Echo', 'Error', { Text: 'x' }));
      /** The data points of `name` whose attributes include `attrs`. */
      const points = async (name: string, attrs: Record<string, string>): Promise<DataPoint<unknown>[]> => {
        const { resourceMetrics } = await reader.collect();
        const metric = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).find((m) => m.descriptor.name === name);
        return ((metric?.dataPoints ?? []) as DataPoint<unknown>[]).filter((p) => Object.entries(attrs).every(([a, v]) => p.attributes[a] === v));
      };
      const deadline = Date.now() + 5_000;
      while ((await points('rpc.server.duration', { 'rpc.method': 'Error' })).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const mul = { 'rpc.system': 'rpcx', 'rpc.service': 'Arith', 'rpc.method': 'Mul' };
      for (const side of ['server', 'client']) {
        const [dur] = await points(`rpc.${side}.duration`, { ...mul, 'otel.status_code': 'OK' });
        assert.equal((dur?.value as HistogramPoint | undefined)?.count, 2, `rpc.${side}.duration counts the two Mul calls`);
        assert.equal((await points(`rpc.${side}.requests_per_rpc`, mul))[0]?.value, 2);
        assert.equal((await points(`rpc.${side}.responses_per_rpc`, { ...mul, 'otel.status_code': 'OK' }))[0]?.value, 2);
        const [errDur] = await points(`rpc.${side}.duration`, { 'rpc.method': 'Error', 'otel.status_code': 'ERROR' });
        assert.equal((errDur?.value as HistogramPoint | undefined)?.count, 1, `rpc.${side}.duration of the failed call, status ERROR`);
      }
      const [reqSize] = await points('rpc.server.request.size', mul);
      assert.equal((reqSize?.value as HistogramPoint | undefined)?.sum, '{"A":2,"B":3}'.length + '{"A":20,"B":30}'.length, 'request payload bytes (JSON)');
      const [resSize] = await points('rpc.server.response.size', { ...mul, 'otel.status_code': 'OK' });
      assert.equal((resSize?.value as HistogramPoint | undefined)?.sum, '{"C":6}'.length + '{"C":600}'.length);
    } finally {
      await c.close();
      await s.close();
    }
  });
});

/** A span as the Go peer (interop/go/cmd/otelpeer) reports it. */
interface GoSpan {
  Name: string;
  TraceID: string;
  SpanID: string;
  ParentSpanID: string;
  Kind: string;
  Status: string;
  StatusDescription: string;
}

describe('rpcx/otel against Go (rpcx-plugins otel, reproduced in interop/go/cmd/otelpeer)', { timeout: 60_000 }, () => {
  const procs: ServerProcess[] = [];
  const clients: Client[] = [];
  let ts: RpcxServer | undefined;
  let tsKey = '';

  before(async () => {
    ts = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(opts)] });
    registerDemoServices(ts);
    tsKey = await ts.serve('tcp', '127.0.0.1:0');
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const p of procs) await p.kill('SIGTERM');
    await ts?.close();
  });

  async function goServer(args: string[] = []): Promise<ServerProcess> {
    const p = await startServerProcess('otelpeer server', goBinary('otelpeer'), ['server', '-addr', '127.0.0.1:0', ...args], goDir);
    procs.push(p);
    return p;
  }
  async function goServerSpans(address: string, min: number): Promise<GoSpan[]> {
    const plain = new Client(address, { serializeType: 1 });
    clients.push(plain);
    return plain.call<GoSpan[]>('Trace', 'Spans', { Min: min }, { timeoutMs: 10_000 });
  }

  it('TG: a TS client span is the parent of the Go server span; an error is Error on both sides', async (t) => {
    if (!requireGo(t, ['otelpeer'])) return;
    exporter.reset();
    const go = await goServer();
    const c = new Client(go.address, { serializeType: 1, plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(c);
    const root = rootTraceparent();
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }, { metadata: { traceparent: root.traceparent } }), { C: 42 });
    await assert.rejects(c.call('Arith', 'Fail', { A: 1, B: 1 }), (e: unknown) => e instanceof ServiceError && e.message === 'boom');
    const goSpans = await goServerSpans(go.address, 2);
    const mul = goSpans.find((s) => s.Name === 'rpcx.service.Arith.Mul');
    const fail = goSpans.find((s) => s.Name === 'rpcx.service.Arith.Fail');
    const [cs] = await spans(/^rpcx\.client\.Arith\.Mul$/, 1);
    const [cf] = await spans(/^rpcx\.client\.Arith\.Fail$/, 1);
    assert.ok(mul && fail && cs && cf, JSON.stringify(goSpans));
    assert.equal(mul.TraceID, root.traceId, 'Go continued the TS trace');
    assert.equal(mul.ParentSpanID, cs.spanContext().spanId, "Go's server span is the child of the TS client span");
    assert.equal(mul.Kind, 'server');
    assert.equal(mul.Status, 'Ok');
    assert.equal(fail.ParentSpanID, cf.spanContext().spanId);
    assert.equal(fail.Status, 'Error');
    assert.equal(fail.StatusDescription, 'boom');
    assert.equal(cf.status.code, SpanStatusCode.ERROR);
  });

  it('GT: a Go client span is the parent of the TS server span, msgpack and JSON', async (t) => {
    if (!requireGo(t, ['otelpeer'])) return;
    for (const serialize of ['1', '3']) {
      exporter.reset();
      const out = await runGo(goBinary('otelpeer'), ['client', '-addr', tsKey.slice(tsKey.indexOf('@') + 1), '-serialize', serialize]);
      const r = JSON.parse(out) as { Calls: { OK: boolean; Reply?: unknown; Error?: string }[]; Root: GoSpan; Spans: GoSpan[] };
      assert.deepEqual(r.Calls, [{ OK: true, Reply: { C: 42 } }], out);
      const goClient = r.Spans.find((s) => s.Name === 'rpcx.client.Arith.Mul')!;
      assert.equal(goClient.ParentSpanID, r.Root.SpanID);
      const [ss] = await spans(/^rpcx\.service\.Arith\.Mul$/, 1);
      assert.ok(ss, `serialize ${serialize}: the TS server span ended`);
      assert.equal(ss.spanContext().traceId, r.Root.TraceID, 'the TS server continued the Go trace');
      assert.equal(ss.parentSpanContext?.spanId, goClient.SpanID, 'the TS server span is the child of the Go client span');
    }
  });

  it('TS client -> Go server -> TS server: one trace over three hops', async (t) => {
    if (!requireGo(t, ['otelpeer'])) return;
    exporter.reset();
    const go = await goServer(['-forward', tsKey.slice(tsKey.indexOf('@') + 1), '-forward-serialize', '1']);
    const c = new Client(go.address, { serializeType: 1, plugins: [openTelemetryClientPlugin(opts)] });
    clients.push(c);
    assert.deepEqual(await c.call('Forward', 'Mul', { A: 5, B: 5 }), { C: 25 });
    const goSpans = await goServerSpans(go.address, 2);
    const goServerSpan = goSpans.find((s) => s.Name === 'rpcx.service.Forward.Mul');
    const goClientSpan = goSpans.find((s) => s.Name === 'rpcx.client.Arith.Mul');
    const [c1] = await spans(/^rpcx\.client\.Forward\.Mul$/, 1);
    const [s3] = await spans(/^rpcx\.service\.Arith\.Mul$/, 1);
    assert.ok(goServerSpan && goClientSpan && c1 && s3, JSON.stringify(goSpans));
    const traceId = c1.spanContext().traceId;
    assert.equal(goServerSpan.TraceID, traceId);
    assert.equal(goServerSpan.ParentSpanID, c1.spanContext().spanId);
    assert.equal(goClientSpan.ParentSpanID, goServerSpan.SpanID);
    assert.equal(s3.spanContext().traceId, traceId, 'the last hop, a TS server, is in the same trace');
    assert.equal(s3.parentSpanContext?.spanId, goClientSpan.SpanID);
  });
});

/** Runs a Go peer to completion (bounded) and returns its stdout. */
function runGo(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: goDir, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}
