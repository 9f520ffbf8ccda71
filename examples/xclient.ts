// XClient (Go: client.NewXClient): one service over several servers, with a fail mode and a
// select mode, and a typed proxy.  Usage: node build/examples/xclient.js tcp@h:p [tcp@h:p ...]
import { FailMode, MultipleServersDiscovery, SelectMode, createXClient } from '../src/index.js';

interface Arith {
  Mul(args: { A: number; B: number }): Promise<{ C: number }>;
  Add(args: { A: number; B: number }): Promise<{ C: number }>;
}

const servers = process.argv.slice(2);
const discovery = new MultipleServersDiscovery(servers.map((key) => ({ key, value: '' })));
const xclient = createXClient('Arith', {
  discovery,
  failMode: FailMode.Failover, // retry another server on connection errors (not on service errors)
  selectMode: SelectMode.RoundRobin,
  retries: 3,
});

console.log(await xclient.call('Mul', { A: 6, B: 7 })); // { C: 42 }

const arith = xclient.proxy<Arith>(); // typed: arith.Mul takes and returns what Arith says
console.log((await arith.Add({ A: 40, B: 2 })).C); // 42

// Fan-out to every server: inform waits for all and gives a receipt per server.
const receipts = await xclient.inform<{ C: number }>('Mul', { A: 2, B: 21 }, { timeoutMs: 2_000 });
console.log(receipts.map((r) => r.reply?.C)); // one 42 per server

await xclient.close();
