// Go rpcx's AliasPlugin, WhitelistPlugin and BlacklistPlugin (src/server/access.ts). The alias
// reply is compared byte for byte with rpcx's own AliasPlugin (the Go server peer with -alias):
// it carries the real names (Go's restoring PreWriteResponse is never called in v1.9.4: wrong
// signature), the handler sees the real ones and __aliasAppliedKey; `replyWithAlias` gives the
// alias names back. The IP filters are checked from two loopback addresses (127.0.0.1, .2).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import { MessageType, SerializeType, createMessage, encodeMessage, type Message } from '../../src/protocol/index.js';
import { ALIAS_APPLIED_KEY, AliasPlugin, blacklistPlugin, createServer, whitelistPlugin, type RpcxServer, type ServerPlugin } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import type { RequestContext } from '../../src/server/context.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady } from '../support/tg.js';

/** The reply to `path.method({A:6,B:7})` (JSON) sent as a raw message, with the reply message as it came. */
async function raw(c: Client, path: string, method: string): Promise<Message> {
  const req = createMessage({ messageType: MessageType.Request, serializeType: SerializeType.JSON, servicePath: path, serviceMethod: method });
  req.payload = new TextEncoder().encode('{"A":6,"B":7}');
  req.seq = 77n;
  return (await c.sendRaw(req)).message;
}

describe('AliasPlugin (Go serverplugin.AliasPlugin)', { timeout: 60_000 }, () => {
  let ts: RpcxServer;
  let tsKey: string;
  let go: GoServer | undefined;
  const clients: Client[] = [];
  let seen: { path: string; method: string; applied: string | undefined } | undefined;

  before(async () => {
    ts = createServer({ codecs: demoCodecs(), plugins: [new AliasPlugin().alias('Calc', 'Times', 'Arith', 'Mul').alias('Peek', 'It', 'Meta', 'Who')] });
    registerDemoServices(ts);
    ts.registerFunction('Meta', (_a: unknown, ctx: RequestContext) => {
      seen = { path: ctx.servicePath, method: ctx.serviceMethod, applied: ctx.metadata.get(ALIAS_APPLIED_KEY) };
      return {};
    }, 'Who');
    tsKey = await ts.serve('tcp', '127.0.0.1:0');
    if (goReady()) go = await startGoServer(['-alias', 'Calc.Times=Arith.Mul']);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await ts.close();
    await go?.kill();
  });

  it('the alias is served by the method; the handler sees the real names and __aliasAppliedKey', async () => {
    const c = new Client(tsKey, { serializeType: 1 });
    clients.push(c);
    assert.deepEqual(await c.call('Calc', 'Times', { A: 6, B: 7 }), { C: 42 });
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 }, 'the real name still works');
    await c.call('Peek', 'It', {});
    assert.deepEqual(seen, { path: 'Meta', method: 'Who', applied: 'true' });
  });

  it("the reply carries the real names, as rpcx's own AliasPlugin (Go server peer); replyWithAlias gives the alias back", async (t) => {
    const c = new Client(tsKey);
    clients.push(c);
    const mine = await raw(c, 'Calc', 'Times');
    assert.equal(mine.servicePath, 'Arith', "Go's quirk: the real names");
    assert.equal(mine.serviceMethod, 'Mul');
    assert.equal(mine.metadata.has(ALIAS_APPLIED_KEY), false);
    const back = createServer({ codecs: demoCodecs(), plugins: [new AliasPlugin({ replyWithAlias: true }).alias('Calc', 'Times', 'Arith', 'Mul')] });
    registerDemoServices(back);
    const b = new Client(await back.serve('tcp', '127.0.0.1:0'));
    try {
      const aliased = await raw(b, 'Calc', 'Times');
      assert.equal(`${aliased.servicePath}.${aliased.serviceMethod}`, 'Calc.Times');
      assert.equal(aliased.metadata.has(ALIAS_APPLIED_KEY), false);
      const real = await raw(b, 'Arith', 'Mul');
      assert.equal(`${real.servicePath}.${real.serviceMethod}`, 'Arith.Mul', 'a call by the real name is answered with the real name');
    } finally {
      await b.close();
      await back.close();
    }
    if (go === undefined) return t.skip('Go peers not built');
    const g = new Client(go.address);
    clients.push(g);
    const theirs = await raw(g, 'Calc', 'Times');
    assert.deepEqual(encodeMessage(mine), encodeMessage(theirs), 'the same reply bytes as Go');
  });
});

describe('whitelistPlugin / blacklistPlugin (Go WhitelistPlugin, BlacklistPlugin)', { timeout: 30_000 }, () => {
  const servers: RpcxServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  async function serve(plugin: ServerPlugin): Promise<number> {
    const s = createServer({ codecs: demoCodecs(), plugins: [plugin] });
    registerDemoServices(s);
    servers.push(s);
    const key = await s.serve('tcp', '127.0.0.1:0');
    return Number(key.slice(key.lastIndexOf(':') + 1));
  }

  /** Whether a call from `localAddress` is answered (true) or the connection is closed unanswered (false). */
  async function answered(port: number, localAddress: string): Promise<boolean> {
    const req = createMessage({ messageType: MessageType.Request, serializeType: SerializeType.JSON, servicePath: 'Arith', serviceMethod: 'Mul' });
    req.payload = new TextEncoder().encode('{"A":1,"B":2}');
    const sock: Socket = connect({ port, host: '127.0.0.1', localAddress });
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('neither an answer nor a close within 10 s')), 10_000);
      sock.once('connect', () => sock.write(encodeMessage(req)));
      sock.once('data', () => {
        clearTimeout(timer);
        sock.destroy();
        resolve(true);
      });
      sock.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
      sock.once('error', () => {});
    });
  }

  it('a whitelist accepts listed IPs and ranges only', async () => {
    assert.equal(await answered(await serve(whitelistPlugin(['127.0.0.1'])), '127.0.0.1'), true);
    assert.equal(await answered(await serve(whitelistPlugin(['127.0.0.1'])), '127.0.0.2'), false);
    const port = await serve(whitelistPlugin(['10.0.0.0/8', '127.0.0.0/31']));
    assert.equal(await answered(port, '127.0.0.1'), true, '127.0.0.1 is in 127.0.0.0/31');
    assert.equal(await answered(port, '127.0.0.2'), false, '127.0.0.2 is not');
  });

  it('a blacklist refuses listed IPs and ranges only', async () => {
    const port = await serve(blacklistPlugin(['127.0.0.2/32', '::1']));
    assert.equal(await answered(port, '127.0.0.1'), true);
    assert.equal(await answered(port, '127.0.0.2'), false);
  });

  it('a unix socket connection has no IP: a whitelist refuses it, a blacklist accepts it (as Go)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-access-'));
    try {
      for (const [plugin, want] of [[whitelistPlugin(['127.0.0.1']), false], [blacklistPlugin(['127.0.0.1']), true]] as const) {
        const s = createServer({ codecs: demoCodecs(), plugins: [plugin] });
        registerDemoServices(s);
        servers.push(s);
        const key = await s.serve('unix', join(dir, `${plugin.name}.sock`));
        const c = new Client(key, { serializeType: 1 });
        try {
          if (want) assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
          else await assert.rejects(c.call('Arith', 'Mul', { A: 2, B: 2 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION);
        } finally {
          await c.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad entry is INVALID_ARGUMENT', () => {
    for (const bad of ['127.0.0.256', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', 'host.example', '']) {
      assert.throws(() => whitelistPlugin([bad]), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.INVALID_ARGUMENT, bad);
      assert.throws(() => blacklistPlugin([bad]), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.INVALID_ARGUMENT, bad);
    }
  });
});
