// raw RESP subscriber: stamps each socket data arrival
import net from 'node:net';
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const [host, port] = process.argv[2].split(':');
const pat = process.argv[3];
const s = net.connect(Number(port), host, () => {
  s.setNoDelay(true);
  s.write(`*2\r\n$10\r\nPSUBSCRIBE\r\n$${Buffer.byteLength(pat)}\r\n${pat}\r\n`);
});
// With a 4th argument: on a `set` notification, GET the key on a second raw connection and stamp
// the answer (s: 'rawgetsent' / 'rawgetreply'): a round trip with no client library.
const g = process.argv[4] ? net.connect(Number(port), host, () => g.setNoDelay(true)) : undefined;
g?.on('data', () => process.stdout.write(JSON.stringify({ s: 'rawgetreply', t: nowNs() }) + '\n'));
let first = true;
s.on('data', (b) => {
  const t = nowNs();
  if (first) { first = false; process.stdout.write(JSON.stringify({ s: 'ready' }) + '\n'); return; }
  const str = b.toString();
  if (g !== undefined && str.includes('\r\nset\r\n')) {
    const key = str.split('\r\n')[6].replace(/^__keyspace@\d+__:/, '');
    g.write(`*2\r\n$3\r\nGET\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`);
    process.stdout.write(JSON.stringify({ s: 'rawgetsent', t: nowNs() }) + '\n');
  }
  process.stdout.write(JSON.stringify({ s: 'raw', t, ev: str.includes('\r\nset\r\n') ? 'set' : str.includes('del') ? 'del' : 'other', len: b.length }) + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
