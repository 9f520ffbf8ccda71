/**
 * `rpcx serve`: the demo microservice (Arith, Echo, Push, ...: the Go interop server's services)
 * that unchanged Go rpcx clients call; `npm start` runs it. With `--registry` it registers the
 * services in etcd, Redis or ZooKeeper as Go's register plugins do.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type RpcxServer } from '../server/server.js';
import { registerDemoServices, demoCodecs } from '../server/demo/services.js';
import { accessLogPlugin, rateLimitPlugin, type ServerPlugin } from '../server/plugins.js';
import { tokenAuth } from '../server/auth.js';
import type { ServeNetwork } from '../server/listen.js';
import { registerPluginFor, registryTarget } from './registry.js';
import { UsageError } from './common.js';

export const SERVE_USAGE = `usage: rpcx serve [options]

rpcx serve runs the rpcx demo server (services Arith, Echo, Push, ArithPB, ArithThrift, Bench, EchoPB,
EchoThrift; raw handlers RawArith.*, Echo.Via) that Go rpcx clients call unchanged.

options:
  --addr ADDR              listen address: host:port, network@host:port, or unix@/path
                           (default: $RPCX_ADDR or 127.0.0.1:8972)
  --network NET            tcp | unix | http | ws | wss (default from --addr, else tcp;
                           tcp also serves the HTTP gateway and JSON-RPC 2.0, as Go does)
  --auth TOKEN             accept only this __AUTH token ("invalid token" otherwise)
  --max-message-length N   largest frame body in bytes, 0 = unlimited (default 64 MiB)
  --read-timeout MS        close connections idle this long (default 0 = never)
  --write-timeout MS       close connections whose output is blocked this long (default 0)
  --rate-limit N           requests per second over the whole server (default off)
  --tls-cert FILE --tls-key FILE   serve TLS
  --shutdown-timeout MS    graceful shutdown limit on SIGINT/SIGTERM (default 10000)
  --exit-after N           for fault tests: exit at once with status 3 right after reading the
                           Nth non-heartbeat request, before handling it (default 0 = never)
  --registry URL           register the services in a registry, as Go's register plugins do:
                           etcd://host:2379[,host:2379]/basePath, redis://host:6379/basePath,
                           zk://host:2181[,host:2181]/basePath (the client library, etcd3,
                           ioredis or node-zookeeper-client, must be installed)
  --base-path PATH         the registry base path (default: the URL's path, else /rpcx)
  --service-address ADDR   the address registered, network@host:port (default: the one bound)
  --update-interval MS     re-register every MS (Go UpdateInterval; default 10000)
  --meta QUERY             metadata of every service, e.g. 'weight=2&group=blue'
  --metrics HOST:PORT      serve Prometheus metrics at http://HOST:PORT/metrics
                           (rpcx/prometheus; prom-client must be installed)
  --quiet                  print only the "listening" line
  -h, --help               this text
Logs: DEBUG=rpcx:server* for connections and an access log.
`;

function goSnippet(address: string): string {
  return `Call it from Go (github.com/smallnest/rpcx v1.9.4), unchanged:

    d, _ := client.NewPeer2PeerDiscovery("${address}", "")
    xclient := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
    defer xclient.Close()
    args := &Args{A: 10, B: 20}   // type Args struct{ A, B int }
    reply := &Reply{}             // type Reply struct{ C int }
    err := xclient.Call(context.Background(), "Mul", args, reply)   // reply.C == 200

Pushes: client.NewBidirectionalXClient(... , ch) then xclient.Call(ctx, "Start", &PushArgs{Path: "news",
Method: "tick", Count: 3}, &PushReply{}) on service "Push"; each push arrives on ch as a *protocol.Message.
Complete programs: interop/go/cmd/readme-client and readme-push in the rpcx repository (README.md).
`;
}

/**
 * `--exit-after N` (the Go interop server's `-exit-after`): the process dies abruptly, as if
 * killed, right after the Nth non-heartbeat request was read and before it is handled, so that
 * tests see a server vanish with calls in flight.
 */
function exitAfterPlugin(n: number): ServerPlugin {
  let read = 0;
  return {
    name: 'exit-after',
    postReadRequest(_conn, req) {
      if (req.heartbeat) return;
      if (++read >= n) {
        process.stderr.write(`exit-after: request ${read} (${req.servicePath}.${req.serviceMethod}) read, exiting with status 3\n`);
        process.exit(3);
      }
    },
  };
}

/**
 * `--metrics HOST:PORT`: adds the Prometheus server plugin (its own registry) and returns the
 * HTTP endpoint to start once the server listens; prom-client is an optional dependency, loaded
 * only here.
 */
async function metricsEndpoint(hostPort: string, server: RpcxServer): Promise<{ listen(): Promise<string>; close(): void }> {
  const c = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(c + 1));
  if (c <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics must be host:port, got ${JSON.stringify(hostPort)}`, SERVE_USAGE);
  const host = hostPort.slice(0, c).replace(/^\[|\]$/g, '');
  let prom: typeof import('../prometheus/index.js');
  let client: typeof import('prom-client');
  try {
    [prom, client] = await Promise.all([import('../prometheus/index.js'), import('prom-client')]);
  } catch (err) {
    throw new UsageError(`--metrics needs prom-client (npm install prom-client): ${(err as Error).message}`, SERVE_USAGE);
  }
  const registry = new client.Registry();
  server.plugins.add(prom.prometheusServerPlugin({ registry }));
  const http = createHttpServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return {
    close: () => {
      http.close();
      http.closeAllConnections();
    },
    listen: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          const a = http.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
        });
      }),
  };
}

/** Runs the demo server until SIGINT/SIGTERM; resolves once it listens (the process then stays up). */
export async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      addr: { type: 'string' },
      network: { type: 'string' },
      auth: { type: 'string' },
      'max-message-length': { type: 'string' },
      'read-timeout': { type: 'string' },
      'write-timeout': { type: 'string' },
      'rate-limit': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'exit-after': { type: 'string' },
      registry: { type: 'string' },
      'base-path': { type: 'string' },
      'service-address': { type: 'string' },
      'update-interval': { type: 'string' },
      meta: { type: 'string' },
      metrics: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return;
  }
  let addr = values.addr ?? process.env.RPCX_ADDR ?? '127.0.0.1:8972';
  let network = values.network as ServeNetwork | undefined;
  const at = addr.indexOf('@');
  if (at >= 0) {
    network ??= addr.slice(0, at) as ServeNetwork;
    addr = addr.slice(at + 1);
  }
  network ??= 'tcp';
  const num = (s: string | undefined, name: string): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got ${JSON.stringify(s)}`, SERVE_USAGE);
    return n;
  };
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together', SERVE_USAGE);
  const rate = num(values['rate-limit'], 'rate-limit');
  const plugins = [accessLogPlugin()];
  if (rate !== undefined && rate > 0) plugins.unshift(rateLimitPlugin({ ratePerSecond: rate }));
  const exitAfter = num(values['exit-after'], 'exit-after');
  if (exitAfter !== undefined && exitAfter > 0) plugins.unshift(exitAfterPlugin(exitAfter));
  const maxMessageLength = num(values['max-message-length'], 'max-message-length');
  const readTimeoutMs = num(values['read-timeout'], 'read-timeout');
  const writeTimeoutMs = num(values['write-timeout'], 'write-timeout');

  const server = createServer({
    codecs: demoCodecs(),
    plugins,
    ...(values.auth !== undefined && values.auth !== '' ? { authFunc: tokenAuth(values.auth) } : {}),
    ...(maxMessageLength !== undefined ? { maxMessageLength } : {}),
    ...(readTimeoutMs !== undefined ? { readTimeoutMs } : {}),
    ...(writeTimeoutMs !== undefined ? { writeTimeoutMs } : {}),
    ...(values['tls-cert'] !== undefined && values['tls-key'] !== undefined
      ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } }
      : {}),
  });
  if (values.registry !== undefined) {
    const target = registryTarget(values.registry, values['base-path']);
    const updateIntervalMs = num(values['update-interval'], 'update-interval');
    server.plugins.add(
      await registerPluginFor(target, {
        ...(values['service-address'] === undefined ? {} : { serviceAddress: values['service-address'] }),
        ...(updateIntervalMs === undefined ? {} : { updateIntervalMs }),
      }),
    );
  } else if (values['base-path'] !== undefined || values['service-address'] !== undefined || values['update-interval'] !== undefined) {
    throw new UsageError('--base-path, --service-address and --update-interval need --registry', SERVE_USAGE);
  }
  const metrics = values.metrics === undefined ? undefined : await metricsEndpoint(values.metrics, server);
  registerDemoServices(server, values.meta === undefined ? {} : { metadata: values.meta });
  const bound = await server.serve(network, addr);
  process.stdout.write(`listening ${bound}\n`);
  if (values.registry !== undefined) process.stdout.write(`registered in ${values.registry}\n`);
  if (metrics !== undefined) process.stdout.write(`metrics ${await metrics.listen()}\n`);
  if (!values.quiet) process.stdout.write(`\n${goSnippet(bound)}\nCtrl-C stops it (graceful shutdown).\n`);

  const shutdownTimeout = num(values['shutdown-timeout'], 'shutdown-timeout') ?? 10_000;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      void server.close().then(() => process.exit(130));
      return;
    }
    stopping = true;
    metrics?.close();
    if (!values.quiet) process.stderr.write(`${signal}: shutting down (up to ${shutdownTimeout} ms)\n`);
    server.shutdown({ timeoutMs: shutdownTimeout }).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
