// A real Redis (Debian redis-server 7.0) for the registry tests: loopback, a free port, no
// persistence, a temporary working directory; ready when a real PING answers; stop/start for
// the outage case (same port, data lost as with a real restart without persistence).
import { Redis } from 'ioredis';
import type { TestContext } from 'node:test';
import { freePort, requireSystemBinary, spawnSystem, tempDir, waitFor, type SystemProcess } from './system-server.js';

export interface RedisTestServer {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** `redis://127.0.0.1:<port>` (what `regpeer -registry` takes). */
  readonly url: string;
  /** A command client for the test itself (closed by stop()). */
  readonly admin: Redis;
  /** True while the redis-server process runs. */
  readonly running: boolean;
  /** Stops redis-server (SIGTERM; the data is lost: no persistence). */
  pause(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  resume(): Promise<void>;
  /** Stops it for good and removes the directory. */
  stop(): Promise<void>;
  output(): string;
}

/** Starts redis-server (`extraArgs` appended), or returns undefined (the test is skipped) when it is not installed. */
export async function startRedis(t: TestContext, extraArgs: readonly string[] = []): Promise<RedisTestServer | undefined> {
  const bin = requireSystemBinary(t, 'redis-server', 'redis-server', REDIS_CANDIDATES);
  if (bin === undefined) return undefined;
  return launchRedis(bin, extraArgs);
}

/** Where redis-server is looked for. */
export const REDIS_CANDIDATES: readonly string[] = ['redis-server', '/usr/bin/redis-server'];

/** Starts `bin` (redis-server) on a free loopback port with a temporary directory; the caller stops it. */
export async function launchRedis(bin: string, extraArgs: readonly string[] = []): Promise<RedisTestServer> {
  const dir = tempDir('rpcx-redis-');
  const port = await freePort();
  let proc: SystemProcess | undefined;
  const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  admin.on('error', () => {});
  const spawnIt = async (): Promise<void> => {
    proc = spawnSystem(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir.path, '--protected-mode', 'yes', ...extraArgs]);
    const p = proc;
    await waitFor(
      async () => {
        if (p.proc.exitCode !== null) throw new Error('exited');
        if (admin.status === 'wait' || admin.status === 'end') await admin.connect().catch(() => {});
        return (await admin.ping()) === 'PONG';
      },
      `redis-server on port ${port}`,
      15_000,
      50,
      () => p.output(),
    );
  };
  await spawnIt();
  let stopped = false;
  return {
    port,
    address: `127.0.0.1:${port}`,
    url: `redis://127.0.0.1:${port}`,
    admin,
    get running() {
      return proc !== undefined && proc.proc.exitCode === null && proc.proc.signalCode === null;
    },
    async pause() {
      await proc?.stop('SIGTERM', 5000);
    },
    async resume() {
      await spawnIt();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      admin.disconnect();
      await proc?.stop('SIGTERM', 5000);
      dir.remove();
    },
    output: () => proc?.output() ?? '',
  };
}

/** Every key in the Redis database 0: key → { value, pttl } (SCAN + GET + PTTL). */
export async function redisSnapshot(admin: Redis, match = '*'): Promise<Map<string, { value: string | null; pttl: number }>> {
  const out = new Map<string, { value: string | null; pttl: number }>();
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await admin.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    for (const k of keys) out.set(k, { value: await admin.get(k), pttl: await admin.pttl(k) });
    cursor = next;
    if (cursor === '0') break;
  }
  return out;
}
