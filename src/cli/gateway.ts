/**
 * `rpcx gateway`: the standalone HTTP gateway (Go: rpcxio/rpcx-gateway's `cmd/gateway`) in front
 * of the servers of a registry (`--registry etcd://… | redis://… | zk://…`) or of a fixed list
 * (`--server tcp@host:port`, repeatable: a MultipleServersDiscovery). Prints `listening
 * http://host:port` once it listens; SIGINT/SIGTERM close it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { MultipleServersDiscovery, type KVPair, type ServiceDiscovery } from '../client/discovery.js';
import { FailMode, SelectMode } from '../client/fail-mode.js';
import { createGatewayProxy } from '../gateway/proxy.js';
import type { RegistryDiscovery } from '../discovery/common.js';
import { durationOption, numberOption, UsageError } from './common.js';
import { discoveryFor, registryTarget, type RegistryTarget } from './registry.js';

export const GATEWAY_USAGE = `usage: rpcx gateway (--registry URL | --server ADDRESS...) [options]

Runs the standalone rpcx HTTP gateway (Go: rpcxio/rpcx-gateway): each HTTP request with the
X-RPCX-* headers (X-RPCX-SerializeType, X-RPCX-ServiceMethod, X-RPCX-ServicePath or the URL path)
becomes an rpcx call to a server of that service, found in a registry or in a fixed list; the
reply's metadata comes back as headers, the payload as body, errors as X-RPCX-MessageStatusType:
Error and X-RPCX-ErrorMessage (status 200, as rpcx-gateway answers).

  curl -s -H 'X-RPCX-SerializeType: 1' -H 'X-RPCX-ServiceMethod: Mul' \\
       -d '{"A":6,"B":7}' http://127.0.0.1:9981/Arith          # {"C":42}

options:
  --addr HOST:PORT         HTTP listen address (default 127.0.0.1:9981)
  --registry URL           etcd://host:2379[,host:2379]/basePath, redis://host:6379/basePath,
                           zk://host:2181[,host:2181]/basePath (the client library, etcd3,
                           ioredis or node-zookeeper-client, must be installed)
  --base-path PATH         the registry base path (default: the URL's path, else /rpcx)
  --server ADDRESS         a server, network@host:port (tcp@127.0.0.1:8972); repeatable;
                           every service is looked for on every one of them
  --fail-mode MODE         Failover | Failfast | Failtry | Failbackup (default Failover)
  --select-mode MODE       RandomSelect | RoundRobin | WeightedRoundRobin | WeightedICMP |
                           ConsistentHash | Closest (default RandomSelect)
  --retries N              extra attempts of Failover/Failtry (default 3)
  --timeout DURATION       deadline of each call, e.g. 5s (default none)
  -h, --help               this text
Logs: DEBUG=rpcx:client* for the connections to the servers.
`;

/** A Go-named mode (`RoundRobin`), case-insensitive; `UsageError` otherwise. */
function modeOption<T extends Record<string, number>>(table: T, value: string | undefined, name: string): T[keyof T] | undefined {
  if (value === undefined) return undefined;
  const key = Object.keys(table).find((k) => k.toLowerCase() === value.toLowerCase());
  if (key === undefined) throw new UsageError(`--${name} must be one of ${Object.keys(table).join(', ')}, got ${JSON.stringify(value)}`, GATEWAY_USAGE);
  return table[key] as T[keyof T];
}

/**
 * The discovery whose clones the gateway uses for a registry: the first service's discovery is
 * made with {@link discoveryFor}, the others are its clones (one shared registry connection).
 * Nothing connects before the first request.
 */
function registryRoot(target: RegistryTarget): ServiceDiscovery {
  let first: Promise<RegistryDiscovery> | undefined;
  return {
    getServices: (): KVPair[] => [],
    watch: () => undefined,
    clone: async (servicePath: string) => {
      if (first === undefined) {
        first = discoveryFor(target, servicePath);
        return first;
      }
      return (await first).clone(servicePath);
    },
    close: () => {},
  };
}

function splitHostPort(addr: string): { host: string; port: number } {
  const c = addr.lastIndexOf(':');
  const port = Number(addr.slice(c + 1));
  if (c < 0 || addr.slice(c + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--addr must be host:port, got ${JSON.stringify(addr)}`, GATEWAY_USAGE);
  return { host: addr.slice(0, c).replace(/^\[|\]$/g, '') || '127.0.0.1', port };
}

/** Runs the gateway until SIGINT/SIGTERM; resolves once it listens (the process then stays up). */
export async function gateway(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      addr: { type: 'string' },
      registry: { type: 'string' },
      'base-path': { type: 'string' },
      server: { type: 'string', multiple: true },
      'fail-mode': { type: 'string' },
      'select-mode': { type: 'string' },
      retries: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(GATEWAY_USAGE);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, GATEWAY_USAGE);
  const servers = values.server ?? [];
  if ((values.registry === undefined) === (servers.length === 0)) throw new UsageError('give either --registry URL or --server ADDRESS (one or more)', GATEWAY_USAGE);
  if (values['base-path'] !== undefined && values.registry === undefined) throw new UsageError('--base-path needs --registry', GATEWAY_USAGE);
  for (const s of servers) {
    if (!/^[a-z0-9]+@.+/.test(s) && !/^[^@/]+:\d+$/.test(s)) throw new UsageError(`--server must be network@host:port, got ${JSON.stringify(s)}`, GATEWAY_USAGE);
  }
  const failMode = modeOption(FailMode, values['fail-mode'], 'fail-mode');
  const selectMode = modeOption(SelectMode, values['select-mode'], 'select-mode');
  const retries = numberOption(values.retries, 'retries', GATEWAY_USAGE, { integer: true });
  const timeoutMs = durationOption(values.timeout, 'timeout', GATEWAY_USAGE);
  const { host, port } = splitHostPort(values.addr ?? '127.0.0.1:9981');

  const discovery: ServiceDiscovery =
    values.registry !== undefined
      ? registryRoot(registryTarget(values.registry, values['base-path']))
      : new MultipleServersDiscovery(servers.map((s) => ({ key: s.includes('@') ? s : `tcp@${s}`, value: '' })));
  const proxy = createGatewayProxy({
    discovery,
    ...(failMode === undefined ? {} : { failMode }),
    ...(selectMode === undefined ? {} : { selectMode }),
    ...(retries === undefined ? {} : { clientOptions: { retries } }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  const http = createServer(proxy.handler);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const a = http.address() as AddressInfo;
  process.stdout.write(`listening http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    http.close();
    http.closeIdleConnections();
    // In-flight calls end with the XClients (their HTTP answers say so); then the process exits.
    const forced = setTimeout(() => process.exit(0), 5_000);
    forced.unref();
    proxy.close().then(
      () => {
        http.closeAllConnections();
        discovery.close();
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
