// DNSDiscovery (Go client.NewDNSDiscovery): servers from the addresses a name resolves to, on one
// port, looked up again on a timer. The system resolver is used for `localhost`; the switches
// between servers use a given lookup function (the DNS server is not what is tested here, the
// re-lookup, the list and the XClient following it are), against real TS servers on two
// loopback addresses with the same port.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DNSDiscovery, FailMode, createXClient, type KVPair } from '../../src/client/index.js';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';

describe('DNSDiscovery (Go client.DNSDiscovery)', { timeout: 30_000 }, () => {
  const servers: RpcxServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  async function serve(host: string, port: number, name: string): Promise<number> {
    const s = createServer();
    s.registerFunction('Who', () => ({ Name: name }), 'Name');
    servers.push(s);
    const key = await s.serve('tcp', `${host}:${port}`);
    return Number(key.slice(key.lastIndexOf(':') + 1));
  }

  it('resolves a real name with the system resolver (localhost) and an XClient calls through it', async () => {
    const port = await serve('127.0.0.1', 0, 'a');
    const d = new DNSDiscovery('localhost', 'tcp', port, 60_000);
    d.setFilter((p) => p.key.startsWith('tcp@127.0.0.1:')); // localhost may also give ::1, where nothing listens
    try {
      assert.deepEqual(await d.getServices(), [{ key: `tcp@127.0.0.1:${port}`, value: '' }]);
      const xc = createXClient('Who', { discovery: d, failMode: FailMode.Failfast });
      try {
        assert.deepEqual(await xc.call('Name', {}), { Name: 'a' });
      } finally {
        await xc.close();
      }
    } finally {
      d.close();
    }
  });

  it('follows the name: an XClient moves to the new address; a failed lookup keeps the list; sorted keys, IPv6 in brackets', async () => {
    const port = await serve('127.0.0.1', 0, 'a');
    await serve('127.0.0.2', port, 'b');
    let answer: Array<{ address: string; family: number }> | Error = [{ address: '127.0.0.1', family: 4 }];
    let lookups = 0;
    const lookup = async (name: string): Promise<Array<{ address: string; family: number }>> => {
      assert.equal(name, 'svc.example');
      lookups++;
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const d = new DNSDiscovery('svc.example', 'tcp', port, 3_600_000, { lookup });
    const lists: (readonly KVPair[])[] = [];
    const it = d.watch()[Symbol.asyncIterator]();
    const xc = createXClient('Who', { discovery: d, failMode: FailMode.Failfast });
    try {
      assert.deepEqual(await xc.call('Name', {}), { Name: 'a' });
      answer = [{ address: '127.0.0.2', family: 4 }];
      await d.refresh();
      lists.push((await it.next()).value!);
      assert.deepEqual(lists[0], [{ key: `tcp@127.0.0.2:${port}`, value: '' }]);
      const deadline = Date.now() + 5_000;
      let who = '';
      while (who !== 'b' && Date.now() < deadline) who = ((await xc.call('Name', {})) as { Name: string }).Name;
      assert.equal(who, 'b', 'the XClient follows the new address');
      answer = new Error('SERVFAIL');
      await d.refresh();
      assert.deepEqual(await d.getServices(), [{ key: `tcp@127.0.0.2:${port}`, value: '' }], 'a failed lookup keeps the last list');
      answer = [
        { address: 'fd00::2', family: 6 },
        { address: '127.0.0.2', family: 4 },
        { address: '127.0.0.2', family: 4 },
      ];
      await d.refresh();
      assert.deepEqual((await it.next()).value, [
        { key: `tcp@127.0.0.2:${port}`, value: '' },
        { key: `tcp@[fd00::2]:${port}`, value: '' },
      ]);
      const before = lookups;
      await d.refresh();
      assert.equal(lookups, before + 1);
      const next = await Promise.race([it.next().then(() => 'changed'), new Promise((r) => setImmediate(r)).then(() => 'quiet')]);
      assert.equal(next, 'quiet', 'an unchanged list is not sent again');
    } finally {
      await xc.close();
      d.close();
    }
    assert.equal((await it.next()).done, true, 'close ends the watchers');
    assert.throws(() => new DNSDiscovery('x', 'tcp', 0, 1000), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.INVALID_ARGUMENT);
    assert.throws(() => new DNSDiscovery('x', 'tcp', 80, 0), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.INVALID_ARGUMENT);
  });
});
