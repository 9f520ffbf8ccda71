// The TS side of bench/registry.ts's watchers, in a process of its own as Go's `regpeer watch` is:
// N discoveries created independently (sharing one registry connection, the library's default;
// `--no-share`: each with its own, `shareConnection: false`, as Go's) printing
// {"t":<unix ns>,"i":<discovery>,"n":<servers>} for the first list and every update, then
// {"i":-1} once all are watching; exits when stdin closes.
//
//   node build/bench/registry-watch.js --registry etcd://127.0.0.1:2379 --base-path /b --service Who --n 10 [--no-share]
import type { KVPair } from '../src/client/discovery.js';
import { discoveryFor, registryTarget } from '../src/cli/registry.js';
import type { RegistryDiscovery } from '../src/discovery/common.js';
import { parseArgs } from './common.js';

const nowNs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1e6);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const target = registryTarget(args.get('registry') ?? '', args.get('base-path'));
  const service = args.get('service') ?? 'Who';
  const n = Number(args.get('n') ?? 10);
  const options = args.has('no-share') ? { shareConnection: false } : {};
  // Stamped when the discovery delivers the list; written once per event-loop turn (setImmediate),
  // so no discovery's update waits for another's stdout write (regpeer watch: one writer goroutine).
  const pending: Array<[number, number, number]> = [];
  const flush = (): void => {
    process.stdout.write(pending.map(([t, i, count]) => `${JSON.stringify({ t, i, n: count })}\n`).join(''));
    pending.length = 0;
  };
  const emit = (i: number, count: number): void => {
    if (pending.push([nowNs(), i, count]) === 1) setImmediate(flush);
  };
  const ds: RegistryDiscovery[] = [];
  for (let i = 0; i < n; i++) {
    const d = await discoveryFor(target, service, options);
    ds.push(d);
    const it = d.watch()[Symbol.asyncIterator]();
    emit(i, (await d.getServices()).length);
    void (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        emit(i, (r.value as readonly KVPair[]).length);
      }
    })();
  }
  emit(-1, 0);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const d of ds) d.close();
    process.exit(0);
  });
}

void main();
