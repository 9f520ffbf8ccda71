/**
 * Registry URLs for the `rpcx` command: `etcd://h1:2379,h2:2379/basePath`, `redis://h:6379/basePath`,
 * `zk://h:2181/basePath`. Each registry's module (and its client library, an optional peer
 * dependency) is loaded only when its scheme is used.
 */
import { ErrorCode, RpcxError } from '../errors.js';
import { parseRegistryUrl, type RegistryDiscovery, type RegistryDiscoveryOptions, type RegistryPlugin } from '../discovery/common.js';

/** Where a registry URL points: its kind, members and base path. */
export interface RegistryTarget {
  scheme: 'etcd' | 'redis' | 'zk';
  hosts: string[];
  basePath: string;
}

const SCHEMES: Record<string, RegistryTarget['scheme']> = { etcd: 'etcd', etcd3: 'etcd', redis: 'redis', zk: 'zk', zookeeper: 'zk' };

/** Parses a registry URL; `basePath` overrides the URL's path. Throws `INVALID_ARGUMENT` for an unknown scheme. */
export function registryTarget(url: string, basePath?: string): RegistryTarget {
  const u = parseRegistryUrl(url);
  const scheme = SCHEMES[u.scheme];
  if (scheme === undefined) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `unknown registry ${JSON.stringify(u.scheme)}: use etcd://, redis:// or zk://`);
  return { scheme, hosts: u.hosts, basePath: basePath ?? u.basePath };
}

/** The register plugin for `target` (Go: `EtcdV3RegisterPlugin`, `RedisRegisterPlugin`, `ZooKeeperRegisterPlugin`). */
export async function registerPluginFor(target: RegistryTarget, options: { serviceAddress?: string; updateIntervalMs?: number }): Promise<RegistryPlugin> {
  const common = {
    basePath: target.basePath,
    ...(options.serviceAddress === undefined ? {} : { serviceAddress: options.serviceAddress }),
    ...(options.updateIntervalMs === undefined ? {} : { updateIntervalMs: options.updateIntervalMs }),
  };
  switch (target.scheme) {
    case 'etcd': {
      const { EtcdV3RegisterPlugin } = await import('../discovery/etcd/index.js');
      return new EtcdV3RegisterPlugin({ ...common, hosts: target.hosts });
    }
    case 'redis': {
      const { RedisRegisterPlugin } = await import('../discovery/redis/index.js');
      return new RedisRegisterPlugin({ ...common, redisServers: target.hosts });
    }
    case 'zk': {
      const { ZooKeeperRegisterPlugin } = await import('../discovery/zookeeper/index.js');
      return new ZooKeeperRegisterPlugin({ ...common, zooKeeperServers: target.hosts });
    }
  }
}

/**
 * The discovery of `servicePath` in `target` (Go: `NewEtcdV3Discovery`, `NewRedisDiscovery`,
 * `NewZookeeperDiscovery`); `options` are every registry's discovery options (e.g. `shareConnection`).
 */
export async function discoveryFor(target: RegistryTarget, servicePath: string, options: RegistryDiscoveryOptions = {}): Promise<RegistryDiscovery> {
  switch (target.scheme) {
    case 'etcd': {
      const { EtcdV3Discovery } = await import('../discovery/etcd/index.js');
      return new EtcdV3Discovery(target.basePath, servicePath, { ...options, hosts: target.hosts });
    }
    case 'redis': {
      const { RedisDiscovery } = await import('../discovery/redis/index.js');
      return new RedisDiscovery(target.basePath, servicePath, { ...options, redisServers: target.hosts });
    }
    case 'zk': {
      const { ZookeeperDiscovery } = await import('../discovery/zookeeper/index.js');
      return new ZookeeperDiscovery(target.basePath, servicePath, target.hosts, options);
    }
  }
}

/** The first path segment of each key under `prefix` (`<base>/<service>/...` → `service`), sorted, unique. */
function serviceNames(keys: Iterable<string>, prefix: string): string[] {
  const names = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const name = k.slice(prefix.length).split('/')[0];
    if (name !== undefined && name !== '') names.add(name);
  }
  return [...names].sort();
}

/**
 * The services registered under `target`'s base path (the `rpcx discover REGISTRY` listing): the
 * folders below `<basePath>` as Go's register plugins write them. Go's discoveries have no such
 * call; this reads the registry directly with the same client library.
 */
export async function listServiceNames(target: RegistryTarget, timeoutMs = 5_000): Promise<string[]> {
  const deadline = <T>(p: Promise<T>): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new RpcxError(ErrorCode.CONNECTION, `no answer from the registry within ${timeoutMs} ms`)), timeoutMs).unref())]);
  switch (target.scheme) {
    case 'etcd': {
      const { Etcd3 } = await import('etcd3');
      const client = new Etcd3({ hosts: target.hosts.map((h) => (h.includes('://') ? h : `http://${h}`)) });
      try {
        const prefix = `${target.basePath}/`;
        return serviceNames(await deadline(client.getAll().prefix(prefix).keys()), prefix);
      } finally {
        client.close();
      }
    }
    case 'redis': {
      const { Redis } = await import('ioredis');
      const { redisKey, globEscape } = await import('../discovery/redis/index.js');
      const [host, port] = splitHostPort(target.hosts[0] ?? '127.0.0.1:6379', 6379);
      const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await deadline(client.connect());
        const prefix = `${redisKey(target.basePath)}/`;
        const keys: string[] = [];
        let cursor = '0';
        for (let i = 0; i < 100_000; i++) {
          const [next, batch] = await deadline(client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000));
          keys.push(...batch);
          cursor = next;
          if (cursor === '0') break;
        }
        return serviceNames(keys, prefix);
      } finally {
        client.disconnect();
      }
    }
    case 'zk': {
      const zookeeper = (await import('node-zookeeper-client')).default;
      const { zkPath, guardPartialReplies } = await import('../discovery/zookeeper/index.js');
      const client = zookeeper.createClient(target.hosts.join(','), { sessionTimeout: timeoutMs });
      guardPartialReplies(client);
      try {
        await deadline(
          new Promise<void>((resolve) => {
            client.once('connected', () => resolve());
            client.connect();
          }),
        );
        const children = await deadline(
          new Promise<string[]>((resolve, reject) => {
            client.getChildren(zkPath(target.basePath), (err, names) => {
              const code = (err as { getCode?: () => number } | null)?.getCode?.();
              if (err !== null && err !== undefined) {
                if (code === zookeeper.Exception.NO_NODE) resolve([]);
                else reject(RpcxError.from(err, ErrorCode.CONNECTION));
              } else resolve(names);
            });
          }),
        );
        return [...children].sort();
      } finally {
        client.close();
      }
    }
  }
}

function splitHostPort(hostPort: string, defaultPort: number): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(hostPort);
  return [m?.[1] ?? (m?.[2] || '127.0.0.1'), m?.[3] === undefined ? defaultPort : Number(m[3])];
}
