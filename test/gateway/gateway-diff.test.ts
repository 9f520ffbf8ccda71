// Cases 73 `http_gateway` and 74 `jsonrpc2` (GT-style): a fixed list of HTTP requests goes to the
// Go rpcx server peer (interop/go/cmd/server: Go's gateway and JSON-RPC on its tcp port) and to
// the TS server with the same services; status, X-Rpcx-* headers (with Go's spelling on the
// wire) and body must be equal. docs/transports.md lists the quirks these pin down.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { createServer, tokenAuth, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { goReady } from '../support/tg.js';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { unmarshalRequest } from '../../src/gateway/go-json.js';
import { ask, comparable, rawExchange, type HttpAsk } from './support.js';

interface Pair {
  go: string;
  ts: string;
}

const servers: RpcxServer[] = [];
const goServers: GoServer[] = [];
let plain: Pair | undefined;
let authed: Pair | undefined;

async function tsServer(auth?: string): Promise<string> {
  const server = createServer({ codecs: demoCodecs(), ...(auth === undefined ? {} : { authFunc: tokenAuth(auth) }) });
  registerDemoServices(server);
  servers.push(server);
  return server.serve('tcp', '127.0.0.1:0');
}

before(async () => {
  const ts = await tsServer();
  const tsAuth = await tsServer('secret');
  if (!goReady()) {
    plain = { go: '', ts };
    authed = { go: '', ts: tsAuth };
    return;
  }
  const g = await startGoServer([]);
  goServers.push(g);
  const ga = await startGoServer(['-auth', 'secret']);
  goServers.push(ga);
  plain = { go: g.address, ts };
  authed = { go: ga.address, ts: tsAuth };
});

after(async () => {
  await Promise.all(goServers.map((g) => g.kill()));
  await Promise.all(servers.map((s) => s.close()));
});

/** Sends `q` to both servers of `pair` and asserts the answers are equal; returns the TS one. */
async function same(t: TestContext, pair: Pair | undefined, q: HttpAsk) {
  assert.ok(pair !== undefined);
  const ts = await ask(pair.ts, q);
  if (!requireGo(t, ['server'])) return ts;
  const go = await ask(pair.go, q);
  assert.deepEqual(comparable(ts), comparable(go));
  return ts;
}

const json = (method: string, extra: Record<string, string> = {}) => ({ 'X-RPCX-ServiceMethod': method, 'X-RPCX-SerializeType': '1', ...extra });

describe('case 73 http_gateway (GT-style): the TS gateway answers as Go', () => {
  test('success with JSON, MessageID, Version echoed; no status header, empty X-Rpcx-Meta', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-MessageID': '7', 'X-RPCX-Version': '3' }), body: '{"A":3,"B":4}' });
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), '{"C":12}');
    assert.ok(a.rawNames.includes('X-Rpcx-Messageid'), `Go's canonical spelling: ${a.rawNames.join(',')}`);
    assert.equal(a.headers.get('x-rpcx-meta'), '');
    assert.equal(a.headers.has('x-rpcx-messagestatustype'), false);
  });
  test('success with msgpack (binary body)', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '3' }, body: Buffer.from(msgpackEncode({ A: 6, B: 7 })) });
    assert.equal(a.status, 200);
    assert.deepEqual([...a.body], [...msgpackEncode({ C: 42 })]);
  });
  test('success with protobuf (ArithPB)', async (t) => {
    const a = await same(t, plain, { path: '/ArithPB', headers: { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '2' }, body: Buffer.from([0x08, 0x03, 0x10, 0x04]) });
    assert.deepEqual([...a.body], [0x08, 0x0c]);
  });
  test('SerializeNone: Echo.Bytes echoes every byte value', async (t) => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const a = await same(t, plain, { path: '/Echo', headers: { 'X-RPCX-ServiceMethod': 'Bytes', 'X-RPCX-SerializeType': '0' }, body: all });
    assert.deepEqual(a.body, all);
  });
  test('GET and PUT reach the service too; X-RPCX-ServicePath overrides the URL path', async (t) => {
    await same(t, plain, { method: 'GET', path: '/Arith', headers: json('Add'), body: '{"A":1,"B":2}' });
    const a = await same(t, plain, { method: 'PUT', path: '/Nope', headers: json('Add', { 'X-RPCX-ServicePath': 'Arith' }), body: '{"A":1,"B":2}' });
    assert.equal(a.body.toString(), '{"C":3}');
  });
  test('URL path: %-decoded, query ignored, slashes kept in the service path; a chunked body', async (t) => {
    const a = await same(t, plain, { path: '/Ar%69th?x=1', headers: json('Mul'), body: '{"A":5,"B":5}' });
    assert.equal(a.body.toString(), '{"C":25}');
    const b = await same(t, plain, { path: '/a/b%20c', headers: json('Mul'), body: '{}' });
    assert.equal(b.headers.get('x-rpcx-errormessage'), "rpcx: can't find service a/b c");
    const c = await same(t, plain, { path: '/Arith', headers: json('Mul'), body: '{"A":6,"B":5}', chunked: true });
    assert.equal(c.body.toString(), '{"C":30}');
  });
  test('unknown service, unknown method, unknown codec: 500 with Go texts', async (t) => {
    const a = await same(t, plain, { path: '/Nope', headers: json('Mul'), body: '{}' });
    assert.equal(a.status, 500);
    assert.equal(a.headers.get('x-rpcx-errormessage'), "rpcx: can't find service Nope");
    const b = await same(t, plain, { path: '/Arith', headers: json('Nope'), body: '{}' });
    assert.equal(b.headers.get('x-rpcx-errormessage'), "rpcx: can't find method Nope");
    const c = await same(t, plain, { path: '/Arith', headers: { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '9' }, body: '{}' });
    assert.equal(c.headers.get('x-rpcx-errormessage'), 'can not find codec for 9');
  });
  test('serialize type keeps 4 bits as Go does (17 is JSON), echoed as sent', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-SerializeType': '17' }), body: '{"A":2,"B":2}' });
    assert.equal(a.body.toString(), '{"C":4}');
    assert.equal(a.headers.get('x-rpcx-serializetype'), '17');
  });
  test('handler error with unicode, tabs and CR/LF: CR/LF become spaces, UTF-8 raw', async (t) => {
    const a = await same(t, plain, { path: '/Echo', headers: json('Error'), body: JSON.stringify({ Text: '  héllo\t€ 😀\r\nline2 <&> ' }) });
    assert.equal(a.status, 500);
    assert.equal(Buffer.from(a.headers.get('x-rpcx-errormessage')!, 'latin1').toString('utf8'), 'héllo\t€ 😀  line2 <&>');
  });
  test('divide by zero (an error with a reply payload): 500, empty body', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Div'), body: '{"A":1,"B":0}' });
    assert.equal(a.body.length, 0);
  });
  test('raw AddHandler routes are invisible to the gateway (Go calls handleRequest directly)', async (t) => {
    const a = await same(t, plain, { path: '/RawArith', headers: json('Mul'), body: '{"A":1,"B":2}' });
    assert.equal(a.headers.get('x-rpcx-errormessage'), "rpcx: can't find service RawArith");
    const v = await same(t, plain, { path: '/Echo', headers: json('Via'), body: '{}' });
    assert.equal(v.body.toString(), '{"Via":"service"}');
  });
  test('missing headers: 200 + Error, and only the first missing header is left out', async (t) => {
    const a = await same(t, plain, { path: '/', headers: {}, body: '' });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-rpcx-errormessage'), 'empty servicepath');
    assert.equal(a.headers.has('x-rpcx-servicepath'), false);
    assert.equal(a.headers.get('x-rpcx-servicemethod'), '');
    const b = await same(t, plain, { path: '/Arith', headers: { 'X-RPCX-SerializeType': '1' }, body: '{}' });
    assert.equal(b.headers.get('x-rpcx-errormessage'), 'empty servicemethod');
    const c = await same(t, plain, { path: '/Arith', headers: { 'X-RPCX-ServiceMethod': 'Mul' }, body: '{}' });
    assert.equal(c.headers.get('x-rpcx-errormessage'), 'empty serialized type');
  });
  test('unparsable MessageID, SerializeType, CompressType, Meta: 200 + Go parse texts', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-MessageID': 'abc' }), body: '{}' });
    assert.equal(a.headers.get('x-rpcx-errormessage'), 'strconv.ParseUint: parsing "abc": invalid syntax');
    await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-MessageID': '18446744073709551616' }), body: '{}' });
    await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-SerializeType': 'x' }), body: '{}' });
    await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-CompressType': '-' }), body: '{}' });
    const m = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-Meta': 'a=%zz' }), body: '{}' });
    assert.equal(m.headers.get('x-rpcx-errormessage'), 'invalid URL escape "%zz"');
    await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-Meta': 'a=1;b=2' }), body: '{}' });
  });
  test('X-RPCX-Oneway: 0 is oneway (empty 200); Heartbeat is a call; CompressType is never decompressed nor returned', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-Oneway': '0' }), body: '{"A":1,"B":2}' });
    assert.equal(a.status, 200);
    assert.equal(a.body.length, 0);
    await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-Heartbeat': 'yes' }), body: '{"A":1,"B":2}' });
    const c = await same(t, plain, { path: '/Arith', headers: json('Mul', { 'X-RPCX-CompressType': '1' }), body: '{"A":2,"B":5}' });
    assert.equal(c.headers.has('x-rpcx-compresstype'), false);
  });
  test('response metadata is url.Values.Encode: sorted, + for space, %2A, ~ raw', async (t) => {
    const a = await same(t, plain, { path: '/Echo', headers: json('Metadata', { 'X-RPCX-Meta': 'b=x+y&a=1%2A~&c=%C3%A9&a=second' }), body: '{}' });
    assert.equal(a.headers.get('x-rpcx-meta'), 'a=1%2A~&b=x+y&c=%C3%A9');
  });
  test('bad JSON body: 500 with the codec error', async (t) => {
    const a = await same(t, plain, { path: '/Arith', headers: json('Mul'), body: '{"A":' });
    assert.equal(a.status, 500);
  });
  test('DELETE and HEAD 405 with Allow, OPTIONS 200 with Allow', async (t) => {
    const a = await same(t, plain, { method: 'DELETE', path: '/Arith', headers: json('Mul') });
    assert.equal(a.status, 405);
    assert.equal(a.body.toString(), 'Method Not Allowed\n');
    await same(t, plain, { method: 'HEAD', path: '/Arith' });
    const o = await same(t, plain, { method: 'OPTIONS', path: '/Arith' });
    assert.equal(o.headers.get('allow'), 'GET, OPTIONS, POST, PUT');
  });
  test('auth: Authorization is __AUTH; success 200, failure 401 + invalid token', async (t) => {
    const ok = await same(t, authed, { path: '/Arith', headers: json('Mul', { Authorization: 'secret' }), body: '{"A":3,"B":3}' });
    assert.equal(ok.body.toString(), '{"C":9}');
    const bad = await same(t, authed, { path: '/Arith', headers: json('Mul', { Authorization: 'wrong' }), body: '{"A":3,"B":3}' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('x-rpcx-errormessage'), 'invalid token');
  });
});

const rpc = (body: string, headers: Record<string, string> = {}): HttpAsk => ({ path: '/', headers: { 'X-JSONRPC-2.0': 'true', ...headers }, body });

describe('case 74 jsonrpc2 (GT-style): the TS JSON-RPC 2.0 endpoint answers as Go', () => {
  test('success with a number id and a string id; any path', async (t) => {
    const a = await same(t, plain, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":3,"B":5},"id":1}'));
    assert.equal(a.body.toString(), '{"jsonrpc":"2.0","result":{"C":15},"id":1}');
    assert.equal(a.headers.get('context-type'), 'application/json');
    const b = await same(t, plain, { ...rpc('{"jsonrpc":"2.0","method":"Arith.Add","params":{"A":3,"B":5},"id":"x<1>"}'), path: '/any/where' });
    assert.equal(b.body.toString(), '{"jsonrpc":"2.0","result":{"C":8},"id":"x\\u003c1\\u003e"}');
  });
  test('id "" comes back as 0; big int64 ids survive; jsonrpc member may be absent', async (t) => {
    const a = await same(t, plain, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1},"id":""}'));
    assert.match(a.body.toString(), /"id":0}$/);
    const b = await same(t, plain, rpc('{"method":"Arith.Mul","params":{"A":1,"B":1},"id":9223372036854775807}'));
    assert.match(b.body.toString(), /"id":9223372036854775807}$/);
  });
  test('bad ids, bad JSON, a batch, a wrong version: -32700, Go texts, no id', async (t) => {
    for (const body of [
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":1.5}',
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":true}',
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":{}}',
      '{bad',
      '{"jsonrpc":"2.0"',
      '',
      '[{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":1}]',
      '{"jsonrpc":"1.0","method":"Arith.Mul","params":{},"id":1}',
      '{"jsonrpc":2,"method":"Arith.Mul","params":{},"id":1}',
      '{"jsonrpc":"2.0","method":5,"params":{},"id":1}',
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":1} x',
      '{"a":tru}',
      '{"a":-x}',
      '{"a":"\\q"}',
      '{"a":1.e}',
    ]) {
      const a = await same(t, plain, rpc(body));
      assert.match(a.body.toString(), /^\{"jsonrpc":"2.0","error":\{"code":-32700,/, body);
    }
  });
  test('method without a dot or with a leading dot: -32601; the last dot splits', async (t) => {
    const a = await same(t, plain, rpc('{"jsonrpc":"2.0","method":"ArithMul","params":{},"id":1}'));
    assert.match(a.body.toString(), /-32601,"message":"must contains servicepath and method"/);
    await same(t, plain, rpc('{"jsonrpc":"2.0","method":".Mul","params":{},"id":1}'));
    const c = await same(t, plain, rpc('{"jsonrpc":"2.0","method":"a.b.Upper","params":{},"id":1}'));
    assert.match(c.body.toString(), /can't find service a\.b"/);
  });
  test('unknown method, handler error with unicode and control characters: -32603, data null', async (t) => {
    await same(t, plain, rpc('{"jsonrpc":"2.0","method":"Arith.Nope","params":{},"id":1}'));
    const a = await same(t, plain, rpc(JSON.stringify({ jsonrpc: '2.0', method: 'Echo.Error', params: { Text: 'é\t€ 😀\r\n<&>\b\f\u0001' }, id: 2 })));
    assert.match(a.body.toString(), /"code":-32603,.*"data":null\},"id":2\}$/);
  });
  test('keys match case-insensitively; unknown members are ignored', async (t) => {
    const a = await same(t, plain, rpc('{"JSONRPC":"2.0","Method":"Arith.Mul","PARAMS":{"A":2,"B":2},"Id":3,"extra":[1]}'));
    assert.equal(a.body.toString(), '{"jsonrpc":"2.0","result":{"C":4},"id":3}');
  });
  test('a notification (no id, or id null) gets an empty 200 at once and still runs', async (t) => {
    const key = `n${process.pid}${Date.now()}`;
    const a = await same(t, plain, rpc(JSON.stringify({ jsonrpc: '2.0', method: 'Echo.Count', params: { Key: key } })));
    assert.equal(a.status, 200);
    assert.equal(a.body.length, 0);
    await same(t, plain, rpc(JSON.stringify({ jsonrpc: '2.0', method: 'Echo.Count', params: { Key: key }, id: null })));
    // Both notifications ran (on each server): poll until the count is 2, bounded.
    for (let i = 0; i < 100; i++) {
      const c = await ask(plain!.ts, rpc(JSON.stringify({ jsonrpc: '2.0', method: 'Echo.GetCount', params: { Key: key }, id: 1 })));
      if (c.body.toString().includes('"Count":2')) return;
      await new Promise((r) => setImmediate(r));
    }
    assert.fail('the notifications did not run');
  });
  test('auth through Authorization: success, and failure as -32603 invalid token', async (t) => {
    await same(t, authed, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":1}', { Authorization: 'secret' }));
    const bad = await same(t, authed, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":1}', { Authorization: 'nope' }));
    assert.equal(bad.body.toString(), '{"jsonrpc":"2.0","error":{"code":-32603,"message":"invalid token","data":null},"id":1}');
  });
  test('X-JSONRPC-2.0 other than exactly "true" goes to the gateway', async (t) => {
    const a = await same(t, plain, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{},"id":1}', { 'X-JSONRPC-2.0': 'TRUE' }));
    assert.equal(a.headers.get('x-rpcx-errormessage'), 'empty servicepath');
  });
  test('[BETTER] params null with an id: TS answers -32602 (Go drops the connection); as a notification, dropped (Go crashes)', async () => {
    const a = await ask(plain!.ts, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":null,"id":1}'));
    assert.equal(a.body.toString(), '{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: params must be given","data":null},"id":1}');
    const n = await ask(plain!.ts, rpc('{"jsonrpc":"2.0","method":"Arith.Mul"}'));
    assert.equal(n.status, 200);
    const after = await ask(plain!.ts, rpc('{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":1},"id":1}'));
    assert.equal(after.status, 200);
  });
});

describe('demux on the tcp port (case 75 parts): what is not rpcx nor HTTP is closed without an answer', () => {
  test('PATCH (not a cmux HTTP1Fast method) and garbage are closed, no bytes back', async (t) => {
    for (const bytes of ['PATCH /Arith HTTP/1.1\r\nHost: x\r\n\r\n', 'hello\r\n\r\n']) {
      const ts = await rawExchange(plain!.ts, bytes);
      assert.deepEqual(ts, { data: Buffer.alloc(0), closed: true }, bytes);
      if (!requireGo(t, ['server'])) continue;
      const go = await rawExchange(plain!.go, bytes);
      assert.deepEqual(go, ts, `Go: ${bytes}`);
    }
  });
  test('CONNECT on the tcp port: the gateway 405', async (t) => {
    const ts = await rawExchange(plain!.ts, 'CONNECT /_rpcx_ HTTP/1.0\r\n\r\n', 2000);
    assert.match(ts.data.toString('latin1'), /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    if (!requireGo(t, ['server'])) return;
    const go = await rawExchange(plain!.go, 'CONNECT /_rpcx_ HTTP/1.0\r\n\r\n', 2000);
    assert.match(go.data.toString('latin1'), /^HTTP\/1\.[01] 405 Method Not Allowed\r\n/);
  });
});

describe('case 74 jsonrpc2 (GT-style): mutated requests (seeded), TS equal to Go', () => {
  test('300 mutations of valid requests: same status, headers and body as Go', async (t) => {
    if (!requireGo(t, ['server'])) return;
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const bases = [
      '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":3,"B":4},"id":1}',
      '{"jsonrpc":"2.0","method":"Echo.Error","params":{"Text":"x"},"id":"a"}',
      // Not `params: [1, 2]`: Go's codec refuses an array for a struct, the TS demo Arith does
      // not (a codec/demo-service difference, outside the gateway).
      '{"method":"Arith.Add","params":{"A":1},"id":-7}',
    ];
    const alphabet = '{}[]",:.0123456789-+eE tfnrul\\\t\n\u00e9\u0001x';
    const mismatches: string[] = [];
    for (let i = 0; i < 300; i++) {
      let s = bases[rand(bases.length)]!;
      for (let m = 1 + rand(3); m > 0; m--) {
        const at = rand(s.length + 1);
        const op = rand(3);
        if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
        else if (op === 1) s = s.slice(0, at) + alphabet[rand(alphabet.length)]! + s.slice(at);
        else s = s.slice(0, at);
      }
      // Skip what crashes Go ([BETTER] cases: a valid method with params absent or null).
      const parsed = unmarshalRequest(Buffer.from(s));
      if ('request' in parsed && parsed.request.params === undefined && parsed.request.method.lastIndexOf('.') > 0) continue;
      const q = rpc(s);
      const [ts, go] = await Promise.all([ask(plain!.ts, q), ask(plain!.go, q)]);
      try {
        assert.deepEqual(comparable(ts), comparable(go));
      } catch {
        mismatches.push(`${JSON.stringify(s)}\n  TS ${ts.body.toString()}\n  Go ${go.body.toString()}`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 10), []);
  });
});

describe('case 73 http_gateway (GT-style): random headers (seeded), TS equal to Go', () => {
  test('200 requests with random MessageID, SerializeType, CompressType, Meta, Oneway, path and method', async (t) => {
    if (!requireGo(t, ['server'])) return;
    let seed = 777;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const ids = ['', '0', '7', '-1', '+3', '18446744073709551615', '18446744073709551616', 'x', '1.5', ' 2'];
    const sts = ['', '0', '1', '3', '17', '-15', '9', '99999999999999999999', 'json'];
    const cts = ['', '0', '1', '9', '-', '+1'];
    const metas = ['', 'a=1', 'b=2&a=1&a=3', 'k=%zz', 'k=v;w', 'sp=a+b&st=%2A~', 'u=%C3%A9&%FF=1', '=v&k=', 'a', '&&a=1&'];
    const paths = ['/Arith', '/Echo', '/', '/Nope', '/Arith/x', '/Ar%69th'];
    const methods = ['Mul', 'Add', 'Metadata', 'Nope', ''];
    const mismatches: string[] = [];
    for (let i = 0; i < 200; i++) {
      const headers: Record<string, string> = {};
      const put = (k: string, v: string): void => {
        if (v !== '') headers[k] = v;
      };
      put('X-RPCX-MessageID', pick(ids).trim());
      put('X-RPCX-SerializeType', pick(sts));
      put('X-RPCX-CompressType', pick(cts));
      put('X-RPCX-Meta', pick(metas));
      put('X-RPCX-ServiceMethod', pick(methods));
      if (rand(4) === 0) put('X-RPCX-Oneway', pick(['0', 'true']));
      const q: HttpAsk = { path: pick(paths), headers, body: pick(['{"A":2,"B":3}', '{}', '', '{"A":']) };
      const [tsA, goA] = await Promise.allSettled([ask(plain!.ts, q), ask(plain!.go, q)]);
      // [BETTER]: Go's raw codec (SerializeType 0) panics decoding into a struct, and net/http
      // drops the connection; TS answers (its raw codec hands the handler the bytes).
      if (goA.status === 'rejected' && tsA.status === 'fulfilled' && headers['X-RPCX-SerializeType'] === '0') continue;
      if (tsA.status === 'rejected' || goA.status === 'rejected') {
        const why = (r: PromiseSettledResult<unknown>): string => (r.status === 'rejected' ? String(r.reason) : 'answered');
        mismatches.push(`${JSON.stringify(q)}\n  TS ${why(tsA)}\n  Go ${why(goA)}`);
        continue;
      }
      const ts = tsA.value;
      const go = goA.value;
      try {
        assert.deepEqual(comparable(ts), comparable(go));
      } catch {
        mismatches.push(`${JSON.stringify(q)}\n  TS ${JSON.stringify(comparable(ts))}\n  Go ${JSON.stringify(comparable(go))}`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 5), []);
  });
});
