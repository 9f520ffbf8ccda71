const { Decoder } = require(require('node:path').join(__dirname, '../../node_modules/ioredis/built/resp/decoder.js'));
const msg = (ev) => { const parts = ['pmessage', '__keyspace@0__://bench_redis/Who/*', '__keyspace@0__://bench_redis/Who/tcp@127.0.0.1:40000', ev]; return '*4\r\n' + parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join(''); };
const buf = Buffer.from(msg('set') + msg('expire'));
let got = 0;
const d = new Decoder({ getTypeMapping: () => ({}), onReply: () => got++, onErrorReply: () => {}, onPush: () => got++ });
const times = [];
let i = 0;
function one() {
  const t = process.hrtime.bigint(); d.write(buf); times.push(Number(process.hrtime.bigint() - t) / 1000);
  if (++i < 60) setTimeout(one, 20); else { const s = [...times].sort((a, b) => a - b); console.log('decode 2 pmessages, µs: first', times[0].toFixed(1), 'p50', s[30].toFixed(1), 'p90', s[54].toFixed(1), 'got', got); const t2 = process.hrtime.bigint(); for (let k = 0; k < 100000; k++) d.write(buf); console.log('hot', (Number(process.hrtime.bigint() - t2) / 1000 / 100000).toFixed(2), 'µs'); }
}
if (process.env.WARM) { for (let k = 0; k < 200000; k++) d.write(buf); got = 0; }
one();
