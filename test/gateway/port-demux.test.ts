// Case 75 `port_demux` (GT, TT): rpcx, HTTP gateway and JSON-RPC clients on one TS `tcp` port at
// once, under load. GT: the Go rpcx client peer runs its cases while Node HTTP clients (keep-alive
// agents, many requests per connection) hammer the gateway and JSON-RPC; TT: the TS rpcx client
// does the same alongside. Every answer is checked, not only counted.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../src/client/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { requireGo, runGoCases } from '../support/go.js';
import { hostPort } from './support.js';

let server: RpcxServer;
let key = '';

before(async () => {
  // onePort: CONNECT and WebSocket on the same port too (beyond Go; case 75's optional part).
  server = createServer({ codecs: demoCodecs(), onePort: true });
  registerDemoServices(server);
  key = await server.serve('tcp', '127.0.0.1:0');
});
after(() => server.close());

function post(agent: Agent, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { host, port } = hostPort(key);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method: 'POST', path: '/Arith', agent, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, timeout: 20_000 }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** `workers` keep-alive connections, `each` requests apiece, alternating gateway and JSON-RPC agents. */
async function httpLoad(workers: number, each: number): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < each; i++) {
          const a = w * 1000 + i;
          if (w % 2 === 0) {
            const r = await post(agent, { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '1', 'X-RPCX-MessageID': String(a) }, JSON.stringify({ A: a, B: 3 }));
            assert.equal(r.status, 200);
            assert.equal(r.headers['x-rpcx-messageid'], String(a));
            assert.equal(r.body, JSON.stringify({ C: a * 3 }));
          } else {
            const r = await post(agent, { 'X-JSONRPC-2.0': 'true' }, JSON.stringify({ jsonrpc: '2.0', method: 'Arith.Add', params: { A: a, B: 1 }, id: a }));
            assert.equal(r.status, 200);
            assert.equal(r.body, `{"jsonrpc":"2.0","result":{"C":${a + 1}},"id":${a}}`);
          }
          done++;
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  return done;
}

describe('case 75 port_demux', () => {
  test('TT port_demux: TS rpcx clients (tcp@, http@, ws@), gateway and JSON-RPC on one port at once', async () => {
    const rpcx = async (addr: string): Promise<number> => {
      const client = new Client(addr);
      try {
        let n = 0;
        for (let round = 0; round < 20; round++) {
          const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call<{ C: number }>('Arith', 'Mul', { A: round, B: i })));
          replies.forEach((r, i) => assert.equal(r.C, round * i));
          n += replies.length;
        }
        return n;
      } finally {
        await client.close();
      }
    };
    const hp = key.slice('tcp@'.length);
    const [a, b, c, d, h] = await Promise.all([rpcx(key), rpcx(key), rpcx(`http@${hp}`), rpcx(`ws@${hp}`), httpLoad(8, 100)]);
    assert.equal(a + b + c + d, 1600);
    assert.equal(h, 800);
  });

  test('GT port_demux: Go rpcx clients (tcp@, http@ and ws@ to the one port) run their cases while HTTP clients load it', async (t) => {
    if (!requireGo(t, ['client'])) return;
    const hp = key.slice('tcp@'.length);
    const runs: [string, string[]][] = [
      [key, ['arith_msgpack', 'arith_json', 'concurrent_out_of_order', 'push_basic', 'heartbeat_echo_exact', 'large_payload', 'service_error_text']],
      [`http@${hp}`, ['arith_msgpack', 'push_basic', 'concurrent_out_of_order']],
      [`ws@${hp}`, ['arith_msgpack', 'push_basic', 'concurrent_out_of_order']],
    ];
    const goRun = async (addr: string, cases: string[]) => {
      const lines = await runGoCases('client', ['-addr', addr, '-case', cases.join(',')]);
      assert.deepEqual(lines.map((r) => r.case).sort(), [...cases].sort(), addr);
      assert.deepEqual(lines.filter((r) => !r.ok).map((r) => `${addr} ${r.case}: ${r.error}`), []);
    };
    const [, h] = await Promise.all([Promise.all(runs.map(([a, c]) => goRun(a, c))), httpLoad(8, 100)]);
    assert.equal(h, 800);
  });
});
