// `rpcx discover`, and `rpcx call` / `listen` through a registry URL with --select, as child
// processes against a `rpcx serve --registry` on a real etcd, Redis and ZooKeeper (each skipped
// loudly when its server is not installed, as in the other registry tests).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tsCli } from '../support/peer.js';
import { startServerProcess } from '../support/go-server.js';
import { freePort, waitFor } from '../support/system-server.js';
import { rpcx } from '../support/cli.js';
import { REGISTRY_STORES } from '../support/registry-stores.js';


describe('rpcx discover / call / listen through a registry', { timeout: 120_000 }, () => {
  for (const [scheme, start] of Object.entries(REGISTRY_STORES)) {
    it(`${scheme}: discover lists the servers of a service with their metadata; call and listen reach them with --select`, async (t) => {
      const store = await start(t);
      if (store === undefined) return;
      const registry = `${store.url}/rpcx_cli_discover`;
      const server = await startServerProcess('rpcx serve', process.execPath, [tsCli, 'serve', '--addr', '127.0.0.1:0', '--quiet', '--registry', registry, '--meta', 'group=cli&weight=3', '--update-interval', '1000'], process.cwd());
      try {
        let lines: Array<Record<string, unknown>> = [];
        await waitFor(
          async () => {
            const r = await rpcx(['discover', registry, 'Arith']);
            assert.equal(r.status, 0, r.stderr);
            lines = r.stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
            return lines.some((l) => l.server === server.address);
          },
          `rpcx discover ${registry} Arith lists ${server.address}`,
          20_000,
          200,
        );
        assert.deepEqual(lines.find((l) => l.server === server.address), { service: 'Arith', server: server.address, metadata: { group: 'cli', weight: '3' }, raw: 'group=cli&weight=3' });

        // Without a Service: every service the server registered (the demo services), each with this server.
        const all = await rpcx(['discover', registry]);
        assert.equal(all.status, 0, all.stderr);
        const rows = all.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { service: string; server: string });
        const services = [...new Set(rows.map((r) => r.service))].sort();
        for (const name of ['Arith', 'Echo', 'Push']) assert.ok(services.includes(name), `${name} in ${services.join(',')}`);
        assert.ok(rows.every((r) => r.server === server.address), all.stdout);

        const none = await rpcx(['discover', registry, 'NoSuchService']);
        assert.equal(none.status, 0, none.stderr);
        assert.equal(none.stdout, '');
        assert.match(none.stderr, /no server of NoSuchService under \/rpcx_cli_discover/);

        for (const select of ['random', 'roundrobin', 'weighted', 'hash']) {
          const r = await rpcx(['call', registry, 'Arith.Mul', '{"A":6,"B":7}', '--select', select]);
          assert.equal(r.status, 0, `${select}: ${r.stderr}`);
          assert.equal(r.stdout, '{"C":42}\n', select);
        }
        const bad = await rpcx(['call', registry, 'Arith.Mul', '{}', '--select', 'nearest']);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^rpcx: --select must be one of random \| roundrobin/);

        const l = await rpcx(['listen', registry, 'Push.Start', '{"Path":"p","Method":"m","Count":2}', '--count', '2', '--wait', '10s']);
        assert.equal(l.status, 0, l.stderr);
        assert.equal(l.stdout.trimEnd().split('\n').length, 2);
        assert.equal((JSON.parse(l.stdout.split('\n')[0]!) as { servicePath: string }).servicePath, 'p');

        // --watch: the list again when a second server joins; SIGINT ends it with exit 0.
        const watch = spawn(process.execPath, [tsCli, 'discover', registry, 'Arith', '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let errText = '';
        watch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        watch.stderr.setEncoding('utf8').on('data', (d: string) => (errText += d));
        const watchExit = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
        let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
        try {
          await waitFor(() => out.includes(server.address), 'discover --watch prints the first list', 20_000);
          second = await startServerProcess('rpcx serve', process.execPath, [tsCli, 'serve', '--addr', '127.0.0.1:0', '--quiet', '--registry', registry, '--update-interval', '1000'], process.cwd());
          await waitFor(() => out.includes(`"server":"${second!.address}"`), 'discover --watch prints the second server', 20_000);
          assert.match(out, /\{"service":"Arith","servers":2,"at":"[^"]+"\}\n/);
          watch.kill('SIGINT');
          assert.equal(await watchExit, 0, errText);
        } finally {
          watch.kill('SIGKILL');
          await second?.kill('SIGKILL');
        }
      } finally {
        await server.kill('SIGKILL');
        await store.close();
      }
    });
  }

  it('discover: a registry that does not answer exits 1 after --wait', async () => {
    const port = await freePort();
    const r = await rpcx(['discover', `redis://127.0.0.1:${port}/rpcx`, 'Arith', '--wait', '1s']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^rpcx: CONNECTION: no answer from redis://127\\.0\\.0\\.1:${port}/rpcx within 1000 ms\\n$`));
  });
});
