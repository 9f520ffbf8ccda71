import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const CM = require('node-zookeeper-client/lib/ConnectionManager.js');
const WM = require('node-zookeeper-client/lib/WatcherManager.js');
const zk = require('node-zookeeper-client');
const { discoveryFor, registryTarget } = await import(new URL('../../build/src/cli/registry.js', import.meta.url).href);
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const buf = [];
const out = (o) => { if (o.s === 'emit' || o.s === 'ready') process.stdout.write(JSON.stringify(o) + '\n'); else buf.push(o); };
const od = CM.prototype.onSocketData; CM.prototype.onSocketData = function (b) { if (b.length) out({ s: 'sockdata', t: nowNs() }); return od.call(this, b); };
const we = WM.prototype.emit; WM.prototype.emit = function (e) { out({ s: 'notify', t: nowNs(), ty: e.type }); return we.call(this, e); };
for (const m of ['getChildren', 'getData']) {
  const P = Object.getPrototypeOf(zk.createClient('127.0.0.1:1')); const o = P[m];
  P[m] = function (...a) { const cb = a.pop(); out({ s: m + 'Sent', t: nowNs() }); return o.call(this, ...a, (...r) => { out({ s: m + 'Reply', t: nowNs() }); cb(...r); }); };
}
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, v, i, arr) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), arr[i + 1]]] : acc), []));
const target = registryTarget(args.registry, args['base-path']);
const n = Number(args.n ?? 1);
for (let i = 0; i < n; i++) {
  const d = await discoveryFor(target, args.service ?? 'Who');
  const it = d.watch()[Symbol.asyncIterator]();
  out({ s: 'emit', t: nowNs(), i, n: (await d.getServices()).length });
  (async () => { for (;;) { const r = await it.next(); if (r.done) return; out({ s: 'emit', t: nowNs(), i, n: r.value.length }); } })();
}
out({ s: 'ready' });
process.stdin.resume();
process.stdin.on('end', () => { for (const o of buf) process.stdout.write(JSON.stringify(o) + '\n'); setTimeout(() => process.exit(0), 100); });
