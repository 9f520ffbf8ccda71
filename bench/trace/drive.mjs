// Join tracer for the registry benchmark (BENCHMARKS.md, Registries, "Joins, second pass"): not
// part of the benchmark, kept to reproduce its evidence. Starts redis-server (or ZooKeeper with
// ZK=1), one anchor server, and watchers: an instrumented TS discovery process (tw.mjs / twz.mjs:
// stamps the socket read, the keyspace/watch event, the GET / getChildren / getData sent and
// answered, and the new list), `regpeer watch` (unless NOGO=1) and, for Redis, two raw RESP
// subscribers (rawsub.mjs: no client library, stamp on the socket read) on the TS and Go patterns.
// Then REPS joins and leaves; prints per stage the median and p90 in ms after `serve()` began.
//
//   npm run build && node scripts/build-go.mjs
//   node bench/trace/drive.mjs <discoveries per process> <reps>        # Redis
//   ZK=1 TSW=bench/trace/twz.mjs node bench/trace/drive.mjs 1 40        # ZooKeeper
//   PROF=1 NOGO=1 TSW=build/bench/registry-watch.js node bench/trace/drive.mjs 10 200   # CPU profile of the plain watcher into ./prof
//   python3 bench/trace/cpuprofile-summary.py prof/*.cpuprofile
//   node bench/trace/decode-cold.cjs; WARM=1 node bench/trace/decode-cold.cjs   # ioredis decode, 20 ms apart, cold/optimised
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
const B = new URL('../../build', import.meta.url).pathname;
const { createServer } = await import(`${B}/src/index.js`);
const { registerPluginFor } = await import(`${B}/src/cli/registry.js`);
const { findBinary } = await import(`${B}/test/support/system-server.js`);
const { REDIS_CANDIDATES, launchRedis } = await import(`${B}/test/support/redis.js`);
const { ZK_CANDIDATES, launchZooKeeper } = await import(`${B}/test/support/zookeeper.js`);
const ZK = !!process.env.ZK;
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const N = Number(process.argv[2] ?? 1), REPS = Number(process.argv[3] ?? 40);
let r, hostPort, target;
if (ZK) { const z = await launchZooKeeper(findBinary(['java']), findBinary(ZK_CANDIDATES)); hostPort = z.hostPort; r = { url: `zk://${z.hostPort}`, stop: () => z.dispose() }; target = { scheme: 'zk', hosts: [hostPort], basePath: '/bench_redis' }; }
else { r = await launchRedis(findBinary(REDIS_CANDIDATES)); hostPort = r.url.replace(/^redis:\/\//, ''); target = { scheme: 'redis', hosts: [hostPort], basePath: '/bench_redis' }; }
const anchor = createServer({ plugins: [await registerPluginFor(target, { updateIntervalMs: 10000 })] });
anchor.registerFunction('Who', () => ({}), 'Name');
await anchor.serve('tcp', '127.0.0.1:0');
const events = [];
function sp(name, cmd, args) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((res) => {
    createInterface({ input: p.stdout }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      const e = JSON.parse(l);
      if (e.s === 'ready' || e.i === -1) return res(p);
      e.src = name; if (e.s === undefined) e.s = 'emit';
      events.push(e);
    });
  });
}
const procs = [];
procs.push(await sp('ts', process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=prof', '--cpu-prof-interval', '100'] : []), (process.env.TSW !== undefined ? new URL(process.env.TSW, `file://${process.cwd()}/`).pathname : undefined) ?? new URL('tw.mjs', import.meta.url).pathname, '--registry', r.url, '--base-path', '/bench_redis', '--service', 'Who', '--n', String(N)]));
if (!process.env.NOGO) procs.push(await sp('go', new URL('../../interop/go/bin/regpeer', import.meta.url).pathname, ['watch', '-registry', r.url, '-base-path', '/bench_redis', '-service', 'Who', '-n', String(N)]));
if (!ZK) procs.push(await sp('rawgo', process.execPath, [new URL('rawsub.mjs', import.meta.url).pathname, hostPort, '__keyspace*://bench_redis/Who*']));
if (!ZK) procs.push(await sp('raw', process.execPath, [new URL('rawsub.mjs', import.meta.url).pathname, hostPort, '__keyspace@0__://bench_redis/Who/*', 'get']));
const rows = []; const t0s = [];
const wait = async (pred) => { const d = Date.now() + 5000; while (!pred() && Date.now() < d) await new Promise((r) => setTimeout(r, 2)); };
for (let i = 0; i < REPS; i++) {
  const server = createServer({ plugins: [await registerPluginFor(target, { updateIntervalMs: 10000 })] });
  server.registerFunction('Who', () => ({}), 'Name');
  await new Promise((r) => setTimeout(r, 20));
  const t0 = nowNs();
  await server.serve('tcp', '127.0.0.1:0');
  const tServed = nowNs();
  await wait(() => (process.env.NOGO ? ['ts'] : ['ts', 'go']).every((s) => events.filter((e) => e.src === s && e.s === 'emit' && e.t >= t0 && e.n === 2).length >= N));
  t0s.push([t0, tServed]);
  await new Promise((r) => setTimeout(r, 20));
  await server.shutdown({ timeoutMs: 5000 });
  await wait(() => ['ts', 'go'].filter((s) => s !== 'go' || !process.env.NOGO).every((s) => events.filter((e) => e.src === s && e.s === 'emit' && e.t >= t0 && e.n === 1).length >= N));
}
await Promise.all(procs.map((p) => new Promise((r) => { p.once('exit', r); p.stdin.end(); })));
for (let i = 0; i < t0s.length; i++) {
  const [t0, tServed] = t0s[i]; const tEnd = i + 1 < t0s.length ? t0s[i + 1][0] : Infinity;
  const after = events.filter((e) => e.t >= t0 && e.t < tEnd);
  const ms = (t) => (t === undefined ? NaN : (t - t0) / 1e6);
  const first = (src, s, f = () => true) => after.find((e) => e.src === src && e.s === s && f(e))?.t;
  const last = (src, s, f = () => true) => { const x = after.filter((e) => e.src === src && e.s === s && f(e)); return x.length ? Math.max(...x.map((e) => e.t)) : undefined; };
  rows.push(ZK ? { served: ms(tServed), sock: ms(first('ts','sockdata')), notify: ms(first('ts','notify', (e) => e.ty === 4)), notifyLast: ms(last('ts','notify', (e) => e.ty === 4)), gcSent: ms(first('ts','getChildrenSent')), gcReply: ms(first('ts','getChildrenReply')), gdSent: ms(first('ts','getDataSent')), gdReply: ms(first('ts','getDataReply')), gdReplyLast: ms(last('ts','getDataReply')), tsEmit1: ms(first('ts', 'emit', (e) => e.n === 2)), tsEmitAll: ms(last('ts', 'emit', (e) => e.n === 2)), goEmit1: ms(first('go', 'emit', (e) => e.n === 2)), goEmitAll: ms(last('go', 'emit', (e) => e.n === 2)) } : { served: ms(tServed), raw: ms(first('raw', 'raw')), rawgo: ms(first('rawgo', 'raw')), rawMinusRawgo: ms(first('raw', 'raw')) - ms(first('rawgo', 'raw')), rawGetSent: ms(first('raw', 'rawgetsent')), rawGetReply: ms(first('raw', 'rawgetreply')), tsSock: ms(first('ts', 'sockdata')), tsNotify: ms(first('ts', 'notify', (e) => e.ev === 'set')), tsNotifyLast: ms(last('ts', 'notify', (e) => e.ev === 'set')), tsGetSent: ms(first('ts', 'getsent')), tsGetSentLast: ms(last('ts', 'getsent')), tsGetReplyLast: ms(last('ts', 'getreply')), tsGetReply: ms(first('ts', 'getreply')), tsEmit1: ms(first('ts', 'emit', (e) => e.n === 2)), tsEmitAll: ms(last('ts', 'emit', (e) => e.n === 2)), goEmit1: ms(first('go', 'emit', (e) => e.n === 2)), goEmitAll: ms(last('go', 'emit', (e) => e.n === 2)) });
}
const med = (xs) => { const s = xs.filter((x) => !isNaN(x)).sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const p90 = (xs) => { const s = xs.filter((x) => !isNaN(x)).sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)]; };
for (const k of Object.keys(rows[0])) if (!isNaN(med(rows.map((r) => r[k])))) console.log(k.padEnd(12), 'p50', med(rows.map((r) => r[k])).toFixed(2), 'p90', p90(rows.map((r) => r[k])).toFixed(2));
await anchor.shutdown({ timeoutMs: 5000 });
await r.stop();
process.exit(0);
