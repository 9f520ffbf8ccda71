/**
 * `rpcx discover REGISTRY Service`: the servers of a service in a registry (etcd, Redis,
 * ZooKeeper, as Go's register plugins write them) with their metadata, one JSON line each;
 * `--watch` prints every later change of the list. Listing all services of a base path is not
 * offered: the discovery modules (like Go's) read one service's folder, so a Service is required.
 */
import { parseArgs } from 'node:util';
import { ErrorCode, RpcxError } from '../errors.js';
import { parseQuery } from '../client/selectors.js';
import type { KVPair } from '../client/discovery.js';
import { colours, durationOption, toJson, UsageError, Exit } from './common.js';
import { discoveryFor, registryTarget } from './registry.js';

export const DISCOVER_USAGE = `usage: rpcx discover REGISTRY Service [options]

Prints the servers of Service registered in REGISTRY (etcd://host:2379/basePath,
redis://host:6379/basePath, zk://host:2181/basePath; the client library, etcd3, ioredis or
node-zookeeper-client, must be installed), one JSON line each:
  {"service":"Arith","server":"tcp@127.0.0.1:8972","metadata":{"group":"blue"},"raw":"group=blue"}
With no server the output is empty (exit 0). Listing every service of a base path is not
available: the registry modules, like Go's discoveries, read one service's folder.

options:
  --base-path PATH         the base path (default: the URL's path, else /rpcx)
  --wait DURATION          how long to wait for the registry's first answer (default 5s; exit 1 after)
  --watch                  keep running and print the whole list again on every change
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
  if (service === undefined) throw new UsageError('missing Service: listing every service of a base path is not available, name the service', DISCOVER_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, DISCOVER_USAGE);
  if (!url.includes('://')) throw new UsageError(`REGISTRY must be a URL such as etcd://127.0.0.1:2379/rpcx, got ${JSON.stringify(url)}`, DISCOVER_USAGE);
  const waitMs = durationOption(values.wait, 'wait', DISCOVER_USAGE) ?? 5_000;
  const target = registryTarget(url, values['base-path']);
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
