// The three registries behind one shape, for tests that run the same body on each: a real etcd,
// Redis or ZooKeeper on loopback (skipped loudly when not installed, failing under CI=true),
// given as the URL the `rpcx` command and regpeer take.
import type { TestContext } from 'node:test';
import { startEtcd } from './etcd.js';
import { startRedis } from './redis.js';
import { startZooKeeper } from './zookeeper.js';

export interface RegistryStore {
  /** `etcd://127.0.0.1:port`, `redis://127.0.0.1:port` or `zk://127.0.0.1:port`. */
  url: string;
  close(): Promise<void>;
}

/** Starts each registry for the test `t` (etcd is stopped by its own `t.after`). */
export const REGISTRY_STORES: Record<'etcd' | 'redis' | 'zk', (t: TestContext) => Promise<RegistryStore | undefined>> = {
  etcd: async (t) => {
    const e = await startEtcd(t);
    return e && { url: `etcd://${e.hosts.join(',')}`, close: async () => {} };
  },
  redis: async (t) => {
    const r = await startRedis(t);
    return r && { url: r.url, close: () => r.stop() };
  },
  zk: async (t) => {
    const z = await startZooKeeper(t);
    return z && { url: `zk://${z.hostPort}`, close: () => z.dispose() };
  },
};
