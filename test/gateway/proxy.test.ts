// The standalone gateway (rpcxio/rpcx-gateway): `createGatewayProxy` in front of a Go rpcx server
// peer and of TS servers, as curl would call it (fetch / plain HTTP/1.1); RoundRobin over two
// servers; the `rpcx gateway` command end to end with --server, and with --registry on a real
// Redis (skipped loudly when redis-server is missing, failing under CI=true).
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { MultipleServersDiscovery, Peer2PeerDiscovery, FailMode, SelectMode } from '../../src/client/index.js';
import { createGatewayProxy, type GatewayProxy, type GatewayProxyOptions } from '../../src/gateway/index.js';
import { canonicalHeaderKey } from '../../src/gateway/proxy.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { CompressType } from '../../src/protocol/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { requireGo } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { startGoServer, startServerProcess, type GoServer, type ServerProcess } from '../support/go-server.js';
import { tsCli } from '../support/peer.js';
import { startRedis } from '../support/redis.js';
import { waitFor } from '../support/system-server.js';
import { ask, type HttpAnswer } from './support.js';

const tsServers: RpcxServer[] = [];
const proxies: Array<{ proxy: GatewayProxy; http: Server }> = [];
let go: GoServer | undefined;
let tsAddress = '';
/** The compress type of the last request a TS server read. */
let lastCompressType: number | undefined;

async function tsServer(name?: string): Promise<string> {
  const s = createServer({ codecs: demoCodecs(), plugins: [{ name: 'record-compress', postReadRequest: (_c, m) => void (lastCompressType = m.compressType) }] });
  registerDemoServices(s);
  if (name !== undefined) s.registerFunction('Who', () => ({ Name: name }), 'Am');
  tsServers.push(s);
  return s.serve('tcp', '127.0.0.1:0');
}

/** A gateway proxy on a loopback port; its `tcp@host:port` key (for `ask`). */
async function startProxy(options: GatewayProxyOptions): Promise<{ key: string; url: string; proxy: GatewayProxy }> {
  const proxy = createGatewayProxy(options);
  const http = createHttpServer(proxy.handler);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  proxies.push({ proxy, http });
  const port = (http.address() as AddressInfo).port;
  return { key: `tcp@127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, proxy };
}

const JSON_HEADERS = { 'X-RPCX-SerializeType': '1' };

function call(key: string, path: string, method: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return ask(key, { method: 'POST', path, headers: { ...JSON_HEADERS, 'X-RPCX-ServiceMethod': method, ...headers }, body });
}

before(async () => {
  tsAddress = await tsServer();
});

after(async () => {
  for (const { proxy, http } of proxies) {
    await proxy.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  }
  await Promise.all(tsServers.map((s) => s.close()));
  await go?.kill();
});

test('canonicalHeaderKey is Go textproto.CanonicalMIMEHeaderKey (non-token keys left out)', () => {
  assert.equal(canonicalHeaderKey('x-rpcx-messageid'), 'X-Rpcx-Messageid');
  assert.equal(canonicalHeaderKey('tenant'), 'Tenant');
  assert.equal(canonicalHeaderKey('__rpcx_error__'), '__rpcx_error__');
  assert.equal(canonicalHeaderKey('__AUTH'), '__auth');
  assert.equal(canonicalHeaderKey('a b'), undefined);
  assert.equal(canonicalHeaderKey(''), undefined);
});

for (const kind of ['go', 'ts'] as const) {
  describe(`gateway proxy in front of a ${kind === 'go' ? 'Go' : 'TS'} rpcx server`, { timeout: 60_000 }, () => {
    let key = '';
    let url = '';
    let failfastKey = '';
    before(async () => {
      let address = tsAddress;
      if (kind === 'go') {
        if (!goReady()) return;
        go ??= await startGoServer();
        address = go.address;
      }
      ({ key, url } = await startProxy({ discovery: new Peer2PeerDiscovery(address) }));
      ({ key: failfastKey } = await startProxy({ discovery: new Peer2PeerDiscovery(address), failMode: FailMode.Failfast }));
    });

    test('fetch (curl-like): JSON Arith.Mul by URL path; the message id echoed', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const r = await fetch(`${url}/Arith`, { method: 'POST', headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-MessageID': '12345' }, body: '{"A":6,"B":7}' });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '{"C":42}');
      assert.equal(r.headers.get('x-rpcx-messageid'), '12345');
      assert.equal(r.headers.get('x-rpcx-messagestatustype'), null);
      assert.equal(r.headers.get('x-rpcx-errormessage'), null);
    });

    test('the X-RPCX-ServicePath header wins over the URL path; GET and PUT work too', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      for (const method of ['GET', 'PUT']) {
        const r = await ask(key, { method, path: '/not/a/service', headers: { ...JSON_HEADERS, 'X-RPCX-ServicePath': 'Arith', 'X-RPCX-ServiceMethod': 'Add' }, body: '{"A":6,"B":7}' });
        assert.equal(r.status, 200, method);
        assert.equal(r.body.toString(), '{"C":13}', method);
        assert.equal(r.headers.has('x-rpcx-messageid'), false, 'no id sent, none echoed');
      }
      const del = await ask(key, { method: 'DELETE', path: '/Arith' });
      assert.equal(del.status, 405);
      assert.equal(del.headers.get('allow'), 'GET, OPTIONS, POST, PUT');
    });

    test('reply metadata comes back as headers, keys canonicalised as Go Header.Set does', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const r = await call(key, '/Echo', 'Metadata', '{}', { 'X-RPCX-Meta': 'tenant=acme&x-trace-id=abc%20def', 'X-RPCX-MessageID': '7' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('tenant'), 'acme');
      assert.equal(r.headers.get('x-trace-id'), 'abc def');
      assert.ok(r.rawNames.includes('Tenant') && r.rawNames.includes('X-Trace-Id') && r.rawNames.includes('X-Rpcx-Messageid'), r.rawNames.join(','));
      assert.equal(r.headers.get('x-rpcx-messageid'), '7');
      assert.equal(r.body.toString(), '{}');
    });

    test('a service error: status 200, empty body, the error headers (Failover: no reply metadata)', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const r = await call(key, '/Arith', 'Div', '{"A":1,"B":0}', { 'X-RPCX-MessageID': '9' });
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.get('x-rpcx-messagestatustype'), 'Error');
      assert.equal(r.headers.get('x-rpcx-errormessage'), 'divide by zero');
      assert.equal(r.headers.get('x-rpcx-messageid'), '9');
      assert.ok(r.rawNames.includes('X-Rpcx-Messagestatustype') && r.rawNames.includes('X-Rpcx-Errormessage'), r.rawNames.join(','));
      assert.equal(r.headers.has('__rpcx_error__'), false);
    });

    test('a service error under Failfast also carries the reply metadata (__rpcx_error__), as Go SendRaw returns it then', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const r = await call(failfastKey, '/Echo', 'Error', '{"Text":"boom"}');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-rpcx-messagestatustype'), 'Error');
      assert.equal(r.headers.get('x-rpcx-errormessage'), 'boom');
      assert.equal(r.headers.get('__rpcx_error__'), 'boom');
      assert.equal(r.body.length, 0);
    });

    test('Content-Encoding: gzip compresses the rpcx hop, as in rpcx-gateway (the HTTP body itself is plain); X-RPCX-Oneway', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      lastCompressType = undefined;
      const r = await call(key, '/Arith', 'Mul', '{"A":5,"B":9}', { 'Content-Encoding': 'gzip' });
      assert.equal(r.status, 200, r.headers.get('x-rpcx-errormessage'));
      assert.equal(r.body.toString(), '{"C":45}');
      if (kind === 'ts') assert.equal(lastCompressType, CompressType.Gzip);
      // Go compresses the payload again when it encodes the frame: a gzip body reaches the service still gzipped.
      const gz = await call(key, '/Arith', 'Mul', gzipSync('{"A":5,"B":9}'), { 'Content-Encoding': 'gzip' });
      assert.equal(gz.headers.get('x-rpcx-errormessage'), "invalid character '\\x1f' looking for beginning of value");
      const ow = await call(key, '/Arith', 'Mul', '{"A":5,"B":9}', { 'X-RPCX-Oneway': 'true', 'X-RPCX-MessageID': '4' });
      assert.equal(ow.status, 200);
      assert.equal(ow.body.length, 0);
      assert.equal(ow.headers.has('x-rpcx-messagestatustype'), false);
      assert.equal(ow.headers.get('x-rpcx-messageid'), '4');
    });

    test('an unknown service: the server says so, in the error headers', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const r = await call(key, '/NoSuchService', 'Mul', '{}');
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-rpcx-messagestatustype'), 'Error');
      assert.equal(r.headers.get('x-rpcx-errormessage'), "rpcx: can't find service NoSuchService");
    });

    test('bad requests: rpcx-gateway converter errors as error headers', async (t) => {
      if (key === '') return void requireGo(t, ['server']);
      const noSt = await ask(key, { path: '/Arith', headers: { 'X-RPCX-ServiceMethod': 'Mul' }, body: '{}' });
      assert.equal(noSt.status, 200);
      assert.equal(noSt.headers.get('x-rpcx-messagestatustype'), 'Error');
      assert.equal(noSt.headers.get('x-rpcx-errormessage'), 'empty serialized type');
      const noMethod = await ask(key, { path: '/Arith', headers: JSON_HEADERS, body: '{}' });
      assert.equal(noMethod.headers.get('x-rpcx-errormessage'), 'empty servicemethod');
      const noPath = await ask(key, { path: '/', headers: { ...JSON_HEADERS, 'X-RPCX-ServiceMethod': 'Mul' }, body: '{}' });
      assert.equal(noPath.headers.get('x-rpcx-errormessage'), 'empty servicepath');
      const badId = await call(key, '/Arith', 'Mul', '{}', { 'X-RPCX-MessageID': 'x' });
      assert.equal(badId.headers.get('x-rpcx-errormessage'), 'strconv.ParseUint: parsing "x": invalid syntax');
    });
  });
}

test('no server for the service: can not found any server', async () => {
  const { key } = await startProxy({ discovery: new MultipleServersDiscovery([]), failMode: FailMode.Failfast });
  const r = await call(key, '/Arith', 'Mul', '{"A":1,"B":2}', { 'X-RPCX-MessageID': '3' });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  assert.equal(r.headers.get('x-rpcx-messagestatustype'), 'Error');
  assert.equal(r.headers.get('x-rpcx-errormessage'), 'can not found any server');
  assert.equal(r.headers.get('x-rpcx-messageid'), '3');
});

test('RoundRobin over two servers: both get calls; one XClient per service path, closed with the proxy', async () => {
  const [a, b] = await Promise.all([tsServer('a'), tsServer('b')]);
  const discovery = new MultipleServersDiscovery([
    { key: a, value: '' },
    { key: b, value: '' },
  ]);
  const { key, proxy } = await startProxy({ discovery, selectMode: SelectMode.RoundRobin });
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await call(key, '/Who', 'Am', '{}');
    assert.equal(r.status, 200, r.headers.get('x-rpcx-errormessage'));
    seen.push((JSON.parse(r.body.toString()) as { Name: string }).Name);
  }
  assert.deepEqual(seen.filter((n) => n === 'a').length, 3, seen.join(','));
  assert.deepEqual(seen.filter((n) => n === 'b').length, 3, seen.join(','));
  const m = await call(key, '/Arith', 'Mul', '{"A":2,"B":3}');
  assert.equal(m.body.toString(), '{"C":6}');
  assert.deepEqual([...proxy.servicePaths].sort(), ['Arith', 'Who']);
  await proxy.close();
  assert.deepEqual(proxy.servicePaths, []);
  const closed = await call(key, '/Arith', 'Mul', '{"A":2,"B":3}');
  assert.equal(closed.headers.get('x-rpcx-errormessage'), 'xClient is shut down');
  // The caller's discovery (MultipleServersDiscovery clones to itself) is not closed by the proxy.
  assert.equal(discovery.getServices().length, 2);
});

/** `rpcx gateway ARGS` as a child process, once it printed `listening http://…`. */
async function startCliGateway(args: readonly string[]): Promise<ServerProcess & { key: string }> {
  const p = await startServerProcess('rpcx gateway', process.execPath, [tsCli, 'gateway', '--addr', '127.0.0.1:0', ...args], process.cwd());
  assert.match(p.address, /^http:\/\/127\.0\.0\.1:\d+$/);
  return { ...p, key: p.address.replace('http://', 'tcp@') };
}

test('rpcx gateway --server (twice, RoundRobin): curl-like calls reach both servers; SIGTERM ends it with status 0', { timeout: 60_000 }, async () => {
  const [a, b] = await Promise.all([tsServer('cli-a'), tsServer('cli-b')]);
  const gw = await startCliGateway(['--server', a, '--server', b, '--select-mode', 'RoundRobin', '--fail-mode', 'Failfast']);
  try {
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${gw.address}/Who`, { method: 'POST', headers: { 'X-RPCX-SerializeType': '1', 'X-RPCX-ServiceMethod': 'Am' }, body: '{}' });
      assert.equal(r.status, 200);
      names.add((JSON.parse(await r.text()) as { Name: string }).Name);
    }
    assert.deepEqual([...names].sort(), ['cli-a', 'cli-b']);
    const err = await call(gw.key, '/Arith', 'Div', '{"A":1,"B":0}');
    assert.equal(err.headers.get('x-rpcx-errormessage'), 'divide by zero');
    assert.equal(err.headers.get('__rpcx_error__'), 'divide by zero', 'Failfast: the reply metadata too');
  } finally {
    assert.equal(await gw.kill('SIGTERM'), 0, gw.stderr());
  }
});

test('rpcx gateway usage errors exit 2', { timeout: 30_000 }, async () => {
  const { rpcx } = await import('../support/cli.js');
  const none = await rpcx(['gateway']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give either --registry URL or --server ADDRESS/);
  const badMode = await rpcx(['gateway', '--server', 'tcp@127.0.0.1:1', '--select-mode', 'Nearest']);
  assert.equal(badMode.status, 2);
  assert.match(badMode.stderr, /--select-mode must be one of RandomSelect, RoundRobin/);
  const help = await rpcx(['gateway', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: rpcx gateway/);
});

test('rpcx gateway --registry redis://: services found in Redis, an unregistered one has no server', { timeout: 90_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const registry = `${redis.url}/rpcx_gw_proxy`;
  let server: ServerProcess | undefined;
  let gw: (ServerProcess & { key: string }) | undefined;
  try {
    server = await startServerProcess('rpcx serve', process.execPath, [tsCli, 'serve', '--addr', '127.0.0.1:0', '--quiet', '--registry', registry, '--update-interval', '1000'], process.cwd());
    gw = await startCliGateway(['--registry', registry]);
    const g = gw;
    let last: HttpAnswer | undefined;
    await waitFor(
      async () => {
        last = await call(g.key, '/Arith', 'Mul', '{"A":6,"B":7}');
        return last.body.toString() === '{"C":42}';
      },
      'Arith.Mul through the gateway and Redis',
      20_000,
      100,
      () => JSON.stringify(last && Object.fromEntries(last.headers)),
    );
    const echo = await call(g.key, '/Echo', 'Metadata', '{}', { 'X-RPCX-Meta': 'k=v' });
    assert.equal(echo.headers.get('k'), 'v');
    const none = await call(g.key, '/NotRegistered', 'Mul', '{}');
    assert.equal(none.headers.get('x-rpcx-messagestatustype'), 'Error');
    assert.equal(none.headers.get('x-rpcx-errormessage'), 'can not found any server');
  } finally {
    if (gw !== undefined) assert.equal(await gw.kill('SIGTERM'), 0, gw.stderr());
    await server?.kill('SIGTERM');
    await redis.stop();
  }
});
