/**
 * `rpcx discover REGISTRY [Service]`: the servers of a service in a registry (etcd, Redis,
 * ZooKeeper, as Go's register plugins write them) with their metadata, one JSON line each;
 * without a Service, every service under the base path with its servers. `--watch` (with a
 * Service) prints every later change of the list.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, RpcxError } from '../errors.js';
import { parseQuery } from '../client/selectors.js';
import type { KVPair } from '../client/discovery.js';
import { colours, durationOption, toJson, UsageError, Exit } from './common.js';
import { discoveryFor, listServiceNames, registryTarget, type RegistryTarget } from './registry.js';
import type { RegistryDiscovery } from '../discovery/common.js';

export const DISCOVER_USAGE = `usage: rpcx discover REGISTRY [Service] [options]

Prints the servers of Service registered in REGISTRY (etcd://host:2379/basePath,
redis://host:6379/basePath, zk://host:2181/basePath; the client library, etcd3, ioredis or
node-zookeeper-client, must be installed), one JSON line each:
  {"service":"Arith","server":"tcp@127.0.0.1:8972","metadata":{"group":"blue"},"raw":"group=blue"}
Without Service: every service under the base path, each with its servers. With no server the
output is empty (exit 0).

options:
  --base-path PATH         the base path (default: the URL's path, else /rpcx)
  --wait DURATION          how long to wait for the registry's first answer (default 5s; exit 1 after)
  --watch                  keep running and print the whole list again on every change (needs Service)
  -h, --help               this text
`;

function lines(service: string, pairs: readonly KVPair[]): string {
  return pairs
    .map((p) => {
      const q = parseQuery(p.value);
      const metadata: Record<string, string> = {};
      for (const [k, v] of q.values) metadata[k] = v.join(',');
      return `${toJson({ service, server: p.key, metadata, raw: p.value })}\n`;
    })
    .join('');
}

export async function discover(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'base-path': { type: 'string' },
      wait: { type: 'string' },
      watch: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DISCOVER_USAGE);
    return Exit.OK;
  }
  const [url, service, ...extra] = positionals;
  if (url === undefined) throw new UsageError('missing REGISTRY', DISCOVER_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, DISCOVER_USAGE);
  if (!url.includes('://')) throw new UsageError(`REGISTRY must be a URL such as etcd://127.0.0.1:2379/rpcx, got ${JSON.stringify(url)}`, DISCOVER_USAGE);
  if (service === undefined && values.watch) throw new UsageError('--watch needs a Service', DISCOVER_USAGE);
  const waitMs = durationOption(values.wait, 'wait', DISCOVER_USAGE) ?? 5_000;
  const target = registryTarget(url, values['base-path']);
  if (service === undefined) return discoverAll(url, target, waitMs);
  const d = await discoveryFor(target, service);
  const c = colours(process.stderr);
  try {
    const pairs = await Promise.race([
      d.getServices(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref()),
    ]);
    if (pairs === undefined || !d.hasList) throw new RpcxError(ErrorCode.CONNECTION, `no answer from ${url} within ${waitMs} ms`);
    process.stdout.write(lines(service, pairs));
    if (pairs.length === 0) process.stderr.write(c.dim(`no server of ${service} under ${target.basePath}\n`));
    if (!values.watch) return Exit.OK;
    // Ctrl-C ends the watch: exit 0 once stdout is flushed (closing the store clients first could
    // reject their pending watch calls, which is no failure of the command).
    const onSignal = (): void => {
      process.stdout.write('', () => process.exit(Exit.OK));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    for await (const list of d.watch()) {
      process.stdout.write(`${toJson({ service, servers: list.length, at: new Date() })}\n`);
      process.stdout.write(lines(service, list));
    }
    return Exit.OK;
  } finally {
    d.close();
  }
}

/** `rpcx discover REGISTRY`: every service under the base path, with its servers. */
async function discoverAll(url: string, target: RegistryTarget, waitMs: number): Promise<number> {
  const names = await listServiceNames(target, waitMs);
  if (names.length === 0) {
    process.stderr.write(colours(process.stderr).dim(`no service under ${target.basePath} in ${url}\n`));
    return Exit.OK;
  }
  const first = await discoveryFor(target, names[0]!);
  const all = [first, ...names.slice(1).map((n) => first.clone(n) as RegistryDiscovery)];
  try {
    const lists = await Promise.all(all.map((d) => Promise.race([d.getServices(), new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref())])));
    lists.forEach((pairs, i) => process.stdout.write(lines(names[i]!, pairs ?? [])));
    return Exit.OK;
  } finally {
    for (const d of all) d.close();
  }
}
