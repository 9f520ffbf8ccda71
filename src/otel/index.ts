/**
 * OpenTelemetry tracing (`rpcx/otel`), interoperating with Go's rpcxio/rpcx-plugins `otel`
 * server and client plugins: the trace context travels in the rpcx **request metadata**, written
 * and read by the OpenTelemetry propagator (the global one by default, as Go's
 * `otel.GetTextMapPropagator()`: W3C `traceparent` / `tracestate` with the usual SDK setup), so a
 * trace runs through Go and Node services alike. `@opentelemetry/api` is an optional peer
 * dependency: install it (and an SDK) to use this entry.
 *
 * - {@link openTelemetryServerPlugin} (Go: `server/otel.OpenTelemetryPlugin`): a span
 *   `rpcx.service.<ServicePath>.<ServiceMethod>` of kind SERVER per request, the child of the
 *   caller's span when the request carries one. The handler runs in the span's context (beyond
 *   Go), so with a context manager registered its own calls continue the trace; like Go it also
 *   writes its context back into the request metadata, so passing `traceparent` on works without
 *   one. {@link requestOtelContext} gives the span's context.
 * - {@link openTelemetryClientPlugin} (Go: `client/otel.OpenTelemetryPlugin`): a span
 *   `rpcx.client.<servicePath>.<serviceMethod>` of kind CLIENT per call attempt, the child of the
 *   context found in the call's metadata (Go's way) or else of the active context, written into
 *   the request metadata.
 *
 * Status: Error with the error text when the call failed, else Ok (as Go). Deviations from Go:
 * the client span's kind is CLIENT (Go: INTERNAL); the server span ends when the reply is handed
 * to the connection (Go: after the write) and, for a oneway request, when its method returns (Go
 * never ends those); attributes follow the RPC semantic conventions (`rpc.system` = `rpcx`,
 * `rpc.service`, `rpc.method`) instead of Go's event with the payload text.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Meter,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import type { ClientPlugin } from '../client/plugins.js';
import type { RequestContext } from '../server/context.js';
import type { ServerPlugin } from '../server/plugins.js';

/** Options of both plugins. */
export interface OpenTelemetryOptions {
  /** The tracer (default: `trace.getTracer('rpcx')` of the global provider). */
  tracer?: Tracer;
  /** The propagator (default: the global one, `propagation`; Go: `otel.GetTextMapPropagator()`). */
  propagator?: TextMapPropagator;
  /**
   * Records the RPC metrics of the OpenTelemetry semantic conventions with this meter (Go:
   * `WithMeter(meter)`): `rpc.{server,client}.duration` (ms), `.requests_per_rpc`,
   * `.responses_per_rpc` (a response: a reply written, a call that succeeded) and, on the
   * server, `rpc.server.request.size` / `.response.size` (payload bytes); attributes
   * `rpc.system`, `rpc.service`, `rpc.method` and, once the call is done, `otel.status_code`
   * (`OK` / `ERROR`). Default: no metrics.
   */
  meter?: Meter;
}

interface Instruments {
  duration: Histogram;
  requests: Counter;
  responses: Counter;
}

function instruments(meter: Meter, side: 'server' | 'client'): Instruments {
  const n = (x: string): string => `rpc.${side}.${x}`;
  return {
    duration: meter.createHistogram(n('duration'), { description: `Duration of ${side === 'server' ? 'inbound' : 'outbound'} rpcx calls`, unit: 'ms' }),
    requests: meter.createCounter(n('requests_per_rpc'), { description: 'Requests per RPC', unit: '{count}' }),
    responses: meter.createCounter(n('responses_per_rpc'), { description: 'Responses per RPC', unit: '{count}' }),
  };
}

function sizeInstruments(meter: Meter): { requestSize: Histogram; responseSize: Histogram } {
  return {
    requestSize: meter.createHistogram('rpc.server.request.size', { description: 'Size of the request payloads', unit: 'By' }),
    responseSize: meter.createHistogram('rpc.server.response.size', { description: 'Size of the response payloads', unit: 'By' }),
  };
}

function doneAttributes(servicePath: string, serviceMethod: string, err: unknown): Attributes {
  return { ...rpcAttributes(servicePath, serviceMethod), 'otel.status_code': err === undefined || err === null ? 'OK' : 'ERROR' };
}

/** rpcx metadata as an OpenTelemetry carrier. */
const getter: TextMapGetter<Map<string, string>> = {
  keys: (m) => [...m.keys()],
  get: (m, k) => m.get(k),
};
const setter: TextMapSetter<Map<string, string>> = {
  set: (m, k, v) => {
    m.set(k, v);
  },
};

interface Propagate {
  inject(ctx: Context, carrier: Map<string, string>, setter: TextMapSetter<Map<string, string>>): void;
  extract(ctx: Context, carrier: Map<string, string>, getter: TextMapGetter<Map<string, string>>): Context;
}

function propagatorOf(options: OpenTelemetryOptions): Propagate {
  return options.propagator ?? propagation;
}

function rpcAttributes(servicePath: string, serviceMethod: string): Record<string, string> {
  return { 'rpc.system': 'rpcx', 'rpc.service': servicePath, 'rpc.method': serviceMethod };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function end(span: Span, err: unknown): void {
  if (err === undefined || err === null) span.setStatus({ code: SpanStatusCode.OK });
  else {
    if (err instanceof Error) span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
  }
  span.end();
}

/** The server span of each request in flight, its context and when it started. */
const serverSpans = new WeakMap<RequestContext, { span: Span; context: Context; ended: boolean; t0: number }>();

/**
 * The OpenTelemetry context of a request the server plugin traces (its server span inside), or
 * undefined: `context.with(requestOtelContext(ctx)!, () => xclient.call(...))` makes the calls a
 * handler makes children of its request's span when a context manager is registered (the SDKs
 * for Node register one). Without one, pass the request metadata on instead:
 * `call(..., { metadata: { traceparent: ctx.metadata.get('traceparent')! } })`.
 */
export function requestOtelContext(ctx: RequestContext): Context | undefined {
  return serverSpans.get(ctx)?.context;
}

/**
 * The server plugin (Go: `server/otel.NewOpenTelemetryPlugin(tracer, propagators)`): add it with
 * `server.plugins.add(openTelemetryServerPlugin())` or the `plugins` option of `createServer`.
 */
export function openTelemetryServerPlugin(options: OpenTelemetryOptions = {}): ServerPlugin {
  const prop = propagatorOf(options);
  const tracerOf = (): Tracer => options.tracer ?? trace.getTracer('rpcx');
  const m = options.meter === undefined ? undefined : { ...instruments(options.meter, 'server'), ...sizeInstruments(options.meter) };
  const finish = (ctx: RequestContext, err: unknown, responseBytes: number | undefined): void => {
    const s = serverSpans.get(ctx);
    if (s === undefined || s.ended) return;
    s.ended = true;
    end(s.span, err);
    if (m !== undefined) {
      const attrs = doneAttributes(ctx.servicePath, ctx.serviceMethod, err);
      m.duration.record(performance.now() - s.t0, attrs);
      if (responseBytes !== undefined) {
        m.responses.add(1, attrs);
        m.responseSize.record(responseBytes, attrs);
      }
    }
  };
  return {
    preHandleRequest(ctx) {
      const req = ctx.request;
      const parent = prop.extract(ROOT_CONTEXT, req.metadata, getter);
      const span = tracerOf().startSpan(`rpcx.service.${req.servicePath}.${req.serviceMethod}`, { kind: SpanKind.SERVER, attributes: rpcAttributes(req.servicePath, req.serviceMethod) }, parent);
      const spanContext = trace.setSpan(parent, span);
      // Go injects the server span's context into the request metadata too.
      prop.inject(spanContext, req.metadata, setter);
      serverSpans.set(ctx, { span, context: spanContext, ended: false, t0: performance.now() });
      if (m !== undefined) {
        const attrs = rpcAttributes(req.servicePath, req.serviceMethod);
        m.requests.add(1, attrs);
        m.requestSize.record(req.payload.length, attrs);
      }
    },
    aroundCall(ctx, run) {
      // The handler runs in its span's context: with a context manager (the Node SDK registers
      // one) the calls it makes are children of this span with nothing passed by hand.
      const s = serverSpans.get(ctx);
      return s === undefined ? run() : otelContext.with(s.context, run);
    },
    postCall(ctx, _service, _method, _args, _reply, err) {
      // A oneway request writes no reply: its span ends when the method returns.
      if (ctx.request.oneway) finish(ctx, err, undefined);
      return undefined;
    },
    preWriteResponse(ctx, res, err) {
      finish(ctx, err, res?.payload.length);
    },
  };
}

/**
 * The client plugin (Go: `client/otel.NewOpenTelemetryPlugin(tracer, propagators)`): give it in
 * `plugins` of a `Client` or an XClient.
 */
export function openTelemetryClientPlugin(options: OpenTelemetryOptions = {}): ClientPlugin {
  const prop = propagatorOf(options);
  const tracerOf = (): Tracer => options.tracer ?? trace.getTracer('rpcx');
  const key = Symbol('rpcx.otel.span');
  const t0Key = Symbol('rpcx.otel.t0');
  const m = options.meter === undefined ? undefined : instruments(options.meter, 'client');
  return {
    preCall(ctx, servicePath, serviceMethod) {
      // Go extracts the parent from the call's metadata; with none there, the active context.
      const parent = prop.extract(otelContext.active(), ctx.metadata, getter);
      const span = tracerOf().startSpan(`rpcx.client.${servicePath}.${serviceMethod}`, { kind: SpanKind.CLIENT, attributes: rpcAttributes(servicePath, serviceMethod) }, parent);
      prop.inject(trace.setSpan(parent, span), ctx.metadata, setter);
      ctx.values.set(key, span);
      if (m !== undefined) {
        ctx.values.set(t0Key, performance.now());
        m.requests.add(1, rpcAttributes(servicePath, serviceMethod));
      }
    },
    postCall(ctx, servicePath, serviceMethod, _args, _reply, err) {
      const span = ctx.values.get(key) as Span | undefined;
      if (span !== undefined) end(span, err);
      if (m !== undefined) {
        const attrs = doneAttributes(servicePath, serviceMethod, err);
        m.duration.record(performance.now() - (ctx.values.get(t0Key) as number), attrs);
        if (err === undefined) m.responses.add(1, attrs);
      }
    },
  };
}
