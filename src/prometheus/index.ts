/**
 * Prometheus metrics (`rpcx/prometheus`) through `prom-client`, an optional peer dependency.
 * Go rpcx's `serverplugin.MetricsPlugin` counts into go-metrics meters; a Node service is
 * scraped by Prometheus, so these follow the shape of go-grpc-prometheus, which Prometheus users
 * know: per method, started and handled counters, the handling-time histogram, with the outcome
 * as a code label.
 *
 * Server ({@link prometheusServerPlugin}):
 * - `rpcx_server_started_total{rpcx_service,rpcx_method}` requests read and routed;
 * - `rpcx_server_handled_total{rpcx_service,rpcx_method,rpcx_code}` requests done; `rpcx_code` is
 *   `OK`, or the `RpcxError` code of the failure (`SERVICE` for an error the method threw);
 * - `rpcx_server_handling_seconds{rpcx_service,rpcx_method}` histogram, from the request's routing
 *   to its reply handed to the connection (a oneway request: until its method returned);
 * - `rpcx_server_connections` gauge of open connections.
 *
 * Client ({@link prometheusClientPlugin}, a client plugin: each call attempt counts):
 * - `rpcx_client_started_total{rpcx_service,rpcx_method}`;
 * - `rpcx_client_handled_total{rpcx_service,rpcx_method,rpcx_code}`;
 * - `rpcx_client_handling_seconds{rpcx_service,rpcx_method}`.
 *
 * The metrics are registered once per registry (a second plugin on the same registry shares
 * them); expose the registry as usual, e.g. `res.end(await register.metrics())`.
 */
import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import { RpcxError, ServiceError } from '../errors.js';
import type { ClientPlugin } from '../client/plugins.js';
import type { RequestContext } from '../server/context.js';
import type { ServerPlugin } from '../server/plugins.js';

/** Options of both plugins. */
export interface PrometheusOptions {
  /** Where the metrics are registered (default: prom-client's global `register`). */
  registry?: Registry;
  /** Histogram buckets in seconds (default: prom-client's, 5 ms to 10 s). */
  buckets?: number[];
  /**
   * Most distinct `service.method` label pairs a plugin records (default 1000); calls to others
   * count under `rpcx_service="(other)", rpcx_method="(other)"`. The names come from the callers,
   * unknown services included: without a bound, a client sending made-up names would grow the
   * registry without end.
   */
  maxMethods?: number;
}

/** The label pair of a call, or `(other)` once `max` distinct pairs were seen. */
function methodLabels(max: number): (service: string, method: string) => { rpcx_service: string; rpcx_method: string } {
  const seen = new Map<string, { rpcx_service: string; rpcx_method: string }>();
  const other = { rpcx_service: '(other)', rpcx_method: '(other)' };
  return (service, method) => {
    const k = `${service}\n${method}`;
    let l = seen.get(k);
    if (l === undefined) {
      if (seen.size >= max) return other;
      l = { rpcx_service: service, rpcx_method: method };
      seen.set(k, l);
    }
    return l;
  };
}

const LABELS = ['rpcx_service', 'rpcx_method'] as const;
const CODE_LABELS = ['rpcx_service', 'rpcx_method', 'rpcx_code'] as const;

/** The metric named `name` in `registry`, made by `make` the first time. */
function shared<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** `OK`, or the code of what the call failed with. */
export function outcomeCode(err: unknown): string {
  if (err === undefined || err === null) return 'OK';
  if (err instanceof ServiceError) return 'SERVICE';
  if (err instanceof RpcxError) return err.code;
  return 'SERVICE';
}

interface MethodMetrics {
  started: Counter<(typeof LABELS)[number]>;
  handled: Counter<(typeof CODE_LABELS)[number]>;
  seconds: Histogram<(typeof LABELS)[number]>;
}

function methodMetrics(side: 'server' | 'client', options: PrometheusOptions): MethodMetrics {
  const registers = [options.registry ?? defaultRegistry];
  const registry = registers[0]!;
  const who = side === 'server' ? 'the server' : 'the client';
  return {
    started: shared(registry, `rpcx_${side}_started_total`, () => new Counter({ name: `rpcx_${side}_started_total`, help: `Calls ${who} started.`, labelNames: LABELS, registers })),
    handled: shared(registry, `rpcx_${side}_handled_total`, () => new Counter({ name: `rpcx_${side}_handled_total`, help: `Calls ${who} completed, by outcome (OK or the error code).`, labelNames: CODE_LABELS, registers })),
    seconds: shared(registry, `rpcx_${side}_handling_seconds`, () =>
      new Histogram({ name: `rpcx_${side}_handling_seconds`, help: `Time ${who} took per call.`, labelNames: LABELS, registers, ...(options.buckets === undefined ? {} : { buckets: options.buckets }) }),
    ),
  };
}

/** The server plugin: add it with the `plugins` option of `createServer` or `server.plugins.add`. */
export function prometheusServerPlugin(options: PrometheusOptions = {}): ServerPlugin {
  const m = methodMetrics('server', options);
  const registry = options.registry ?? defaultRegistry;
  const connections = shared(registry, 'rpcx_server_connections', () => new Gauge({ name: 'rpcx_server_connections', help: 'Open connections of the server.', registers: [registry] }));
  const started = new WeakMap<RequestContext, number>();
  const labelsOf = methodLabels(options.maxMethods ?? 1000);
  const done = (ctx: RequestContext, err: unknown): void => {
    const t0 = started.get(ctx);
    if (t0 === undefined) return;
    started.delete(ctx);
    const labels = labelsOf(ctx.servicePath, ctx.serviceMethod);
    m.handled.inc({ ...labels, rpcx_code: outcomeCode(err) });
    m.seconds.observe(labels, (performance.now() - t0) / 1000);
  };
  return {
    postConnAccept() {
      connections.inc();
    },
    postConnClose() {
      connections.dec();
    },
    preHandleRequest(ctx) {
      started.set(ctx, performance.now());
      m.started.inc(labelsOf(ctx.servicePath, ctx.serviceMethod));
    },
    postCall(ctx, _service, _method, _args, _reply, err) {
      if (ctx.request.oneway) done(ctx, err);
      return undefined;
    },
    preWriteResponse(ctx, _res, err) {
      done(ctx, err);
    },
  };
}

/** The client plugin: give it in `plugins` of a `Client` or an XClient. */
export function prometheusClientPlugin(options: PrometheusOptions = {}): ClientPlugin {
  const m = methodMetrics('client', options);
  const key = Symbol('rpcx.prometheus.t0');
  const labelsOf = methodLabels(options.maxMethods ?? 1000);
  return {
    preCall(ctx, servicePath, serviceMethod) {
      ctx.values.set(key, performance.now());
      m.started.inc(labelsOf(servicePath, serviceMethod));
    },
    postCall(ctx, servicePath, serviceMethod, _args, _reply, err) {
      const t0 = ctx.values.get(key) as number;
      const labels = labelsOf(servicePath, serviceMethod);
      m.handled.inc({ ...labels, rpcx_code: outcomeCode(err) });
      m.seconds.observe(labels, (performance.now() - t0) / 1000);
    },
  };
}
