// instrumented TS watcher: stamps pmessage arrival, GET send, GET reply, emit
import { Redis } from 'ioredis';
const { discoveryFor, registryTarget } = await import(new URL('../../build/src/cli/registry.js', import.meta.url).href);
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const buf = [];
const out = (o) => { if (o.s === 'emit' || o.s === 'ready') process.stdout.write(JSON.stringify(o) + '\n'); else buf.push(o); };
import net from 'node:net';
const origSockEmit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (ev, ...a) {
  if (ev === 'data') out({ s: 'sockdata', t: nowNs(), len: a[0].length });
  return origSockEmit.call(this, ev, ...a);
};
const origEmit = Redis.prototype.emit;
Redis.prototype.emit = function (ev, ...a) {
  if (ev === 'pmessage') out({ s: 'notify', t: nowNs(), ev: a[2], k: a[1].slice(-30) });
  return origEmit.call(this, ev, ...a);
};
const origGet = Redis.prototype.get;
Redis.prototype.get = function (...a) {
  const t = nowNs();
  const p = origGet.apply(this, a);
  out({ s: 'getsent', t });
  p.then(() => out({ s: 'getreply', t: nowNs() }));
  return p;
};
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
