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
 *   caller's span when the request carries one; like Go it writes its own context back into the
 *   request metadata, so a handler that passes `ctx.metadata` on to its own calls continues the
 *   trace. {@link requestOtelContext} gives the span's context for `context.with(...)`.
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
  type Context,
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

/** The server span of each request in flight, and its context. */
const serverSpans = new WeakMap<RequestContext, { span: Span; context: Context; ended: boolean }>();

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
  const finish = (ctx: RequestContext, err: unknown): void => {
    const s = serverSpans.get(ctx);
    if (s === undefined || s.ended) return;
    s.ended = true;
    end(s.span, err);
  };
  return {
    preHandleRequest(ctx) {
      const req = ctx.request;
      const parent = prop.extract(ROOT_CONTEXT, req.metadata, getter);
      const span = tracerOf().startSpan(`rpcx.service.${req.servicePath}.${req.serviceMethod}`, { kind: SpanKind.SERVER, attributes: rpcAttributes(req.servicePath, req.serviceMethod) }, parent);
      const spanContext = trace.setSpan(parent, span);
      // Go injects the server span's context into the request metadata too.
      prop.inject(spanContext, req.metadata, setter);
      serverSpans.set(ctx, { span, context: spanContext, ended: false });
    },
    postCall(ctx, _service, _method, _args, _reply, err) {
      // A oneway request writes no reply: its span ends when the method returns.
      if (ctx.request.oneway) finish(ctx, err);
      return undefined;
    },
    preWriteResponse(ctx, _res, err) {
      finish(ctx, err);
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
  return {
    preCall(ctx, servicePath, serviceMethod) {
      // Go extracts the parent from the call's metadata; with none there, the active context.
      const parent = prop.extract(otelContext.active(), ctx.metadata, getter);
      const span = tracerOf().startSpan(`rpcx.client.${servicePath}.${serviceMethod}`, { kind: SpanKind.CLIENT, attributes: rpcAttributes(servicePath, serviceMethod) }, parent);
      prop.inject(trace.setSpan(parent, span), ctx.metadata, setter);
      ctx.values.set(key, span);
    },
    postCall(ctx, _servicePath, _serviceMethod, _args, _reply, err) {
      const span = ctx.values.get(key) as Span | undefined;
      if (span !== undefined) end(span, err);
    },
  };
}
