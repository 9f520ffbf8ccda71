// A real ZooKeeper 3.8 server (Debian package `zookeeper`, Java 17) for the registry tests:
// standalone `ZooKeeperServerMain` on 127.0.0.1, a free client port, a temporary data dir, the
// admin server off. Ready when a real session answers (a fresh server may answer `ruok` and
// still drop a session handshake). One server per test file: it is a JVM and takes ~1-2 s to start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import type { Client } from 'node-zookeeper-client';
import { guardPartialReplies } from '../../src/discovery/zookeeper/connection.js';
import { findBinary, freePort, requireSystemBinary, spawnSystem, tempDir, waitFor, type SystemProcess } from './system-server.js';

/** zookeeper.jar's manifest Class-Path names its dependencies in /usr/share/java; slf4j-simple is the log binding. */
const ZK_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_BINDINGS = ['/usr/share/java/slf4j-simple.jar', '/usr/share/java/slf4j-nop.jar'];

/**
 * tickTime 500 ms: sessions may ask 1-10 s (2-20 ticks), so Go's 10 s session is granted as
 * asked and the TS side may use short ones.
 */
export const ZK_TICK_MS = 500;

export interface ZooKeeperServer {
  port: number;
  /** `127.0.0.1:port`. */
  hostPort: string;
  output(): string;
  /** Stops it (SIGTERM); the data dir stays for {@link start}. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir; resolves when a session answers. */
  start(): Promise<void>;
  /** Stops it and removes the data dir. */
  dispose(): Promise<void>;
}

/** A client connected to `hostPort` (resolves when connected; rejects after `timeoutMs`). */
export function connectClient(hostPort: string, timeoutMs = 3000, sessionTimeout = 5000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(hostPort, { sessionTimeout, spinDelay: 100, retries: 0 });
    guardPartialReplies(c); // a starting server may send part of a handshake reply and close
    const t = setTimeout(() => {
      c.close();
      reject(new Error(`no ZooKeeper session with ${hostPort} after ${timeoutMs} ms`));
    }, timeoutMs);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}

/** One real round trip on a fresh session: `exists /`. */
async function probe(hostPort: string): Promise<boolean> {
  const c = await connectClient(hostPort, 2000);
  try {
    return await new Promise<boolean>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('exists / timed out')), 2000);
      c.exists('/', (err, stat) => {
        clearTimeout(t);
        if (err) reject(err);
        else resolve(stat !== null);
      });
    });
  } finally {
    c.close();
  }
}

/**
 * Starts ZooKeeper, or returns undefined after marking `t` skipped (loud notice; fails under
 * CI=true) when the package or Java is missing.
 */
export async function startZooKeeper(t: TestContext): Promise<ZooKeeperServer | undefined> {
  const java = requireSystemBinary(t, 'java (for ZooKeeper)', 'zookeeper', ['java']);
  if (java === undefined) return undefined;
  const jar = requireSystemBinary(t, 'ZooKeeper', 'zookeeper', ZK_CANDIDATES);
  if (jar === undefined) return undefined;
  return launchZooKeeper(java, jar);
}

/** Where the ZooKeeper server jar is looked for (Debian's zookeeper package). */
export const ZK_CANDIDATES: readonly string[] = [ZK_JAR];

/** Starts ZooKeeper from `jar` with `java` on a free loopback port and a temporary data directory; the caller disposes it. */
export async function launchZooKeeper(java: string, jar: string): Promise<ZooKeeperServer> {
  const binding = findBinary(SLF4J_BINDINGS);
  const classpath = [jar, ...(binding ? [binding] : [])].join(':');
  const port = await freePort();
  const dir = tempDir('rpcx-zk-');
  const cfg = join(dir.path, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      `tickTime=${ZK_TICK_MS}`,
      `dataDir=${join(dir.path, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      'initLimit=10',
      'syncLimit=5',
      '',
    ].join('\n'),
  );
  const hostPort = `127.0.0.1:${port}`;
  let proc: SystemProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawnSystem(java, [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Dzookeeper.admin.enableServer=false',
      '-cp',
      classpath,
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      cfg,
    ]);
    const p = proc;
    await waitFor(
      async () => {
        if (p.proc.exitCode !== null) throw new Error('exited');
        return probe(hostPort);
      },
      `ZooKeeper session on ${hostPort}`,
      30_000,
      100,
      () => p.output(),
    );
  };
  await start();
  return {
    port,
    hostPort,
    output: () => proc?.output() ?? '',
    stop: async () => {
      await proc?.stop('SIGTERM', 5000);
    },
    start,
    dispose: async () => {
      await proc?.stop('SIGTERM', 5000);
      dir.remove();
    },
  };
}

// ---------- reading znodes in tests ----------

export interface ZNode {
  data: string;
  ephemeral: boolean;
  ephemeralOwner: string;
}

/** A znode's data and kind, or undefined when it does not exist. */
export function readNode(c: Client, path: string): Promise<ZNode | undefined> {
  return new Promise((resolve, reject) => {
    c.getData(path, (err, data, stat) => {
      if (err) {
        if ((err as { code?: number }).code === zookeeper.Exception.NO_NODE) resolve(undefined);
        else reject(err);
        return;
      }
      const owner = stat.ephemeralOwner.toString('hex');
      resolve({ data: (data ?? Buffer.alloc(0)).toString('utf8'), ephemeral: !/^0+$/.test(owner), ephemeralOwner: owner });
    });
  });
}

/** A znode's children (sorted), or undefined when it does not exist. */
export function readChildren(c: Client, path: string): Promise<string[] | undefined> {
  return new Promise((resolve, reject) => {
    c.getChildren(path, (err, children) => {
      if (err) {
        if ((err as { code?: number }).code === zookeeper.Exception.NO_NODE) resolve(undefined);
        else reject(err);
        return;
      }
      resolve([...children].sort());
    });
  });
}

/** A znode's ACL as `scheme:id:perms` strings. */
export function readAcl(c: Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    c.getACL(path, (err, acls) => {
      if (err) reject(err);
      else resolve(acls.map((a) => `${a.id.scheme}:${a.id.id}:${a.perms}`));
    });
  });
}

/** Sets a znode's data in place (as an operator or another tool would). */
export function writeData(c: Client, path: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => c.setData(path, Buffer.from(data), -1, (err) => (err ? reject(err) : resolve())));
}

/** Creates a persistent znode with `data` (its parent must exist). */
export function createNode(c: Client, path: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => c.create(path, Buffer.from(data), zookeeper.CreateMode.PERSISTENT, (err) => (err ? reject(err) : resolve())));
}
