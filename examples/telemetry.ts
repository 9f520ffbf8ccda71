// Tracing and metrics (rpcx/otel, rpcx/prometheus; docs/telemetry.md): a front service here
// forwards Front.Mul to Arith.Mul on the server you give (Go or Node); one trace covers the
// caller, the front and the call onwards (Go's rpcx-plugins otel plugins continue it there), and
// Prometheus counts the calls.  Usage: node build/examples/telemetry.js tcp@h:p
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { Client, createServer } from '../src/index.js';
import { openTelemetryClientPlugin, openTelemetryServerPlugin } from '../src/otel/index.js';
import { prometheusServerPlugin } from '../src/prometheus/index.js';

// OpenTelemetry set up once per process (an application would use the Node SDK and an OTLP
// exporter; spans are kept in memory here to print them).
const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
propagation.setGlobalPropagator(new W3CTraceContextPropagator()); // traceparent, as Go's plugins
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const metrics = new Registry();

const backend = new Client(process.argv[2] ?? 'tcp@127.0.0.1:8972', { plugins: [openTelemetryClientPlugin()] });
const front = createServer({ plugins: [openTelemetryServerPlugin(), prometheusServerPlugin({ registry: metrics })] });
// The handler runs in its request's span: its own call is a child span, nothing passed by hand.
front.registerFunction('Front', (args: { A: number; B: number }) => backend.call('Arith', 'Mul', args), 'Mul');
const frontKey = await front.serve('tcp', '127.0.0.1:0');

const caller = new Client(frontKey, { plugins: [openTelemetryClientPlugin()] });
console.log(await caller.call('Front', 'Mul', { A: 6, B: 7 }));

// The trace, as a tree.
const ended = spans.getFinishedSpans();
const print = (s: ReadableSpan, depth: number): void => {
  console.log(`${'  '.repeat(depth)}${s.name}`);
  for (const child of ended.filter((c) => c.parentSpanContext?.spanId === s.spanContext().spanId)) print(child, depth + 1);
};
for (const root of ended.filter((s) => s.parentSpanContext === undefined)) print(root, 0);

// What Prometheus would scrape.
console.log((await metrics.metrics()).split('\n').find((l) => l.startsWith('rpcx_server_handled_total')));

await caller.close();
await backend.close();
await front.close();
