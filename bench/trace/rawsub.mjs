// raw RESP subscriber: stamps each socket data arrival
import net from 'node:net';
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const [host, port] = process.argv[2].split(':');
const pat = process.argv[3];
const s = net.connect(Number(port), host, () => {
  s.setNoDelay(true);
  s.write(`*2\r\n$10\r\nPSUBSCRIBE\r\n$${Buffer.byteLength(pat)}\r\n${pat}\r\n`);
});
let first = true;
s.on('data', (b) => {
  const t = nowNs();
  if (first) { first = false; process.stdout.write(JSON.stringify({ s: 'ready' }) + '\n'); return; }
  const str = b.toString();
  process.stdout.write(JSON.stringify({ s: 'raw', t, ev: str.includes('\r\nset\r\n') ? 'set' : str.includes('del') ? 'del' : 'other', len: b.length }) + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
