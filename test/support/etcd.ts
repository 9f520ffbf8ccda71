// Real etcd (Debian etcd-server 3.4, /usr/bin/etcd) for the registry tests: one member, or a
// three-member cluster, on loopback on free client and peer ports with temporary data
// directories; ready when a real client read answers; stopped (and the directories removed)
// after. The outage case stops a member and starts it again on the same ports and data.
import { Etcd3 } from 'etcd3';
import type { TestContext } from 'node:test';
import { freePort, requireSystemBinary, spawnSystem, tempDir, waitFor, type SystemProcess } from './system-server.js';

/** Where etcd is looked for. */
export const ETCD_CANDIDATES: readonly string[] = ['etcd', '/usr/bin/etcd'];

/** One etcd member. */
export interface EtcdMember {
  name: string;
  /** `127.0.0.1:port` of its client URL (what clients are given). */
  host: string;
  peerUrl: string;
  /** Whether its process is running (started and not stopped). */
  readonly running: boolean;
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and data directory (after stop), waiting until it answers. */
  start(): Promise<void>;
  output(): string;
}

/** A running etcd (one member or a cluster). */
export interface EtcdServer {
  members: EtcdMember[];
  /** Every member's `127.0.0.1:port`. */
  hosts: string[];
  /** The member that is the raft leader now. */
  leader(): Promise<EtcdMember>;
  /** A client on every host, closed with the server. */
  client: Etcd3;
  close(): Promise<void>;
}

/**
 * Starts etcd with `size` members (1 or 3) for the test `t` and stops it after the test; returns
 * undefined (the test is skipped, loudly) when etcd is not installed outside CI.
 */
export async function startEtcd(t: TestContext, size = 1): Promise<EtcdServer | undefined> {
  const bin = requireSystemBinary(t, 'etcd', 'etcd-server', ETCD_CANDIDATES);
  if (bin === undefined) return undefined;
  const server = await launchEtcd(bin, size);
  t.after(() => server.close());
  return server;
}

/** Starts `size` members of one cluster with `bin`; the caller closes it. */
export async function launchEtcd(bin: string, size = 1): Promise<EtcdServer> {
  const dir = tempDir('rpcx-etcd-');
  const specs: { name: string; client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++) specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
  const cluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const token = `rpcx-test-${process.pid}-${Date.now()}`;

  const members: (EtcdMember & { proc: SystemProcess | undefined })[] = specs.map((s) => {
    const args = [
      '--name', s.name,
      '--data-dir', `${dir.path}/${s.name}`,
      '--listen-client-urls', `http://127.0.0.1:${s.client}`,
      '--advertise-client-urls', `http://127.0.0.1:${s.client}`,
      '--listen-peer-urls', `http://127.0.0.1:${s.peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peer}`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      // Short raft timers: a lost leader is replaced in well under a second.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    const host = `127.0.0.1:${s.client}`;
    const m: EtcdMember & { proc: SystemProcess | undefined } = {
      name: s.name,
      host,
      peerUrl: `http://127.0.0.1:${s.peer}`,
      proc: undefined,
      get running() {
        const p = m.proc;
        return p !== undefined && p.proc.exitCode === null && p.proc.signalCode === null;
      },
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        await m.proc?.stop(signal);
      },
      async start() {
        m.proc = spawnSystem(bin, args);
        await waitReady([host], () => m.proc?.output() ?? '');
      },
      output: () => m.proc?.output() ?? '',
    };
    m.proc = spawnSystem(bin, args);
    return m;
  });
  const hosts = members.map((m) => m.host);
  const describe = (): string => members.map((m) => `--- ${m.name}:\n${m.output().slice(-4000)}`).join('\n');
  try {
    await waitReady(hosts, describe, true);
  } catch (err) {
    await Promise.all(members.map((m) => m.stop('SIGKILL')));
    dir.remove();
    throw err;
  }
  const client = new Etcd3({ hosts, dialTimeout: 2000 });
  let closed = false;
  return {
    members,
    hosts,
    client,
    async leader() {
      for (let i = 0; i < 100; i++) {
        for (const m of members) {
          if (!m.running) continue;
          const c = new Etcd3({ hosts: [m.host], dialTimeout: 1000 });
          try {
            const s = await c.maintenance.status({ deadline: Date.now() + 1000 });
            if (s.leader !== '0' && s.leader === s.header.member_id) return m;
          } catch {
            // not answering
          } finally {
            c.close();
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no etcd leader\n${describe()}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      client.close();
      await Promise.all(members.map((m) => m.stop('SIGKILL')));
      dir.remove();
    },
  };
}

/** Waits until every host answers a linearizable read (`all`) or the first one does. */
async function waitReady(hosts: readonly string[], describe: () => string, all = true): Promise<void> {
  const targets = all ? hosts : hosts.slice(0, 1);
  await Promise.all(
    targets.map((host) =>
      // A fresh client per probe: etcd3's circuit breaker would hold a refused host for 5 s.
      waitFor(
        async () => {
          const c = new Etcd3({ hosts: [host], dialTimeout: 1000 });
          try {
            await c.get('rpcx-probe').options({ deadline: Date.now() + 1000 }).string();
            return true;
          } finally {
            c.close();
          }
        },
        `etcd on ${host} to answer`,
        20_000,
        100,
        describe,
      ),
    ),
  );
}
