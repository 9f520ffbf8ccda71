// OpenTelemetry tracing (src/otel, `rpcx/otel`) on real servers, spans recorded by the
// OpenTelemetry SDK in memory: the W3C trace context travels in the rpcx request metadata, the
// server span is the child of the client span, errors set status Error with the text, a handler
// that passes its request's trace context on continues the trace, oneway requests end their
// span, and the global provider and propagator are the defaults. Against Go's rpcxio/rpcx-plugins
// otel plugins: see the interop part at the end (interop/go/cmd/otelpeer).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '../src/client/client.js';
import { ServiceError } from '../src/errors.js';
import { openTelemetryClientPlugin, openTelemetryServerPlugin, requestOtelContext } from '../src/otel/index.js';
import { createServer, type RpcxServer } from '../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../src/server/demo/services.js';
import type { RequestContext } from '../src/server/context.js';

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
  const clients: Client[] = [];

  before(async () => {
    downstream = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(opts)] });
    registerDemoServices(downstream);
    const downKey = await downstream.serve('tcp', '127.0.0.1:0');
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
