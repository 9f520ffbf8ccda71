/**
 * Registry URLs for the `rpcx` command: `etcd://h1:2379,h2:2379/basePath`, `redis://h:6379/basePath`,
 * `zk://h:2181/basePath`. Each registry's module (and its client library, an optional peer
 * dependency) is loaded only when its scheme is used.
 */
import { ErrorCode, RpcxError } from '../errors.js';
import { parseRegistryUrl, type RegistryDiscovery, type RegistryPlugin } from '../discovery/common.js';

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

/** The discovery of `servicePath` in `target` (Go: `NewEtcdV3Discovery`, `NewRedisDiscovery`, `NewZookeeperDiscovery`). */
export async function discoveryFor(target: RegistryTarget, servicePath: string): Promise<RegistryDiscovery> {
  switch (target.scheme) {
    case 'etcd': {
      const { EtcdV3Discovery } = await import('../discovery/etcd/index.js');
      return new EtcdV3Discovery(target.basePath, servicePath, { hosts: target.hosts });
    }
    case 'redis': {
      const { RedisDiscovery } = await import('../discovery/redis/index.js');
      return new RedisDiscovery(target.basePath, servicePath, { redisServers: target.hosts });
    }
    case 'zk': {
      const { ZookeeperDiscovery } = await import('../discovery/zookeeper/index.js');
      return new ZookeeperDiscovery(target.basePath, servicePath, target.hosts);
    }
  }
}
