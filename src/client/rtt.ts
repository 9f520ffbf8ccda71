// Go's `ping_utils.go` (`SelectMode.WeightedICMP`): weights from measured round trips. Apart from
// the other selectors (selectors.ts) because measuring opens TCP connections (node:net).
import { connect as netConnect } from 'node:net';
import { calculateWeight, WeightedRoundRobinSelector, type ServerMap, type Weighted } from './selectors.js';

/** Measures a round trip to a server in ms; rejects (or resolves ≥ 1000) when it is unreachable. */
export type RttProbe = (serverKey: string) => Promise<number>;

/**
 * Round-trip time of a TCP (or unix socket) connect to the server, averaged over `count`
 * attempts and floored to whole ms, as Go averages 3 ICMP pings (`client.Ping`). A failure
 * gives 1000 ms (Go's default), so weight 0.
 */
export function tcpConnectRtt(count = 3, timeoutMs = 1000): RttProbe {
  return async (serverKey) => {
    const at = serverKey.indexOf('@');
    const network = at < 0 ? 'tcp' : serverKey.slice(0, at);
    const address = at < 0 ? serverKey : serverKey.slice(at + 1);
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        let sock: ReturnType<typeof netConnect>;
        if (network === 'unix') sock = netConnect({ path: address });
        else {
          const c = address.lastIndexOf(':');
          const host = address.slice(0, c).replace(/^\[|\]$/g, '');
          sock = netConnect({ host: host === '' ? 'localhost' : host, port: Number(address.slice(c + 1)) });
        }
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (r: boolean): void => {
          clearTimeout(timer);
          sock.destroy();
          resolve(r);
        };
        sock.once('connect', () => finish(true));
        sock.once('error', () => finish(false));
      });
      if (!ok) return 1000;
      sum += performance.now() - t0;
    }
    return Math.floor(sum / count);
  };
}

/**
 * `SelectMode.WeightedICMP`: smooth WRR with weights from measured round-trip times through
 * Go's {@link calculateWeight} table (≤10 ms → 191, ≤200 ms → 201−rtt, <1 s → 1, else 0).
 * ICMP needs raw sockets (root), so the default probe is {@link tcpConnectRtt}, the time to
 * open a TCP connection to the server's rpcx port; pass `probe` for another measure (e.g. an
 * rpcx heartbeat round trip). Go measures synchronously inside the constructor and every
 * update; here measuring is async: until {@link ready} resolves every server has weight 1, and
 * an update keeps selecting on the old weights until its measurements are in.
 */
export class WeightedRttSelector extends WeightedRoundRobinSelector {
  private readonly probe: RttProbe;
  private generation = 0;
  /** The latest measured weights by server key. */
  readonly weights = new Map<string, number>();
  /** Resolves once the measurements of the latest server list are applied. */
  ready: Promise<void>;

  constructor(servers: ServerMap, probe: RttProbe = tcpConnectRtt()) {
    super(new Map([...servers.keys()].map((k) => [k, ''])));
    this.probe = probe;
    this.ready = this.measure(servers);
  }

  override updateServer(servers: ServerMap): void {
    this.ready = this.measure(servers);
  }

  private async measure(servers: ServerMap): Promise<void> {
    const gen = ++this.generation;
    const keys = [...servers.keys()];
    const rtts = await Promise.all(keys.map((k) => this.probe(k).catch(() => 1000)));
    if (gen !== this.generation) return;
    this.weights.clear();
    const ss: Weighted[] = keys.map((server, i) => {
      const weight = calculateWeight(Math.floor(rtts[i]!));
      this.weights.set(server, weight);
      return { server, weight, currentWeight: 0 };
    });
    this.build(ss);
  }
}

