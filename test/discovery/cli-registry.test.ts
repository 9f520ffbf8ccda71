// Issue 10 §7: the drop-in registers itself. `npm start -- --registry <url> --base-path /rpcx_test`
// (here: the same `rpcx serve` process) registers the demo services, an unchanged Go XClient on Go's
// own discovery (interop/go/cmd/regpeer client: rpcx-etcd's NewEtcdV3Discovery, rpcx-redis's and
// rpcx-zookeeper's discoveries on libkv) finds them and calls Arith.Mul, and SIGTERM removes the
// entries before the process exits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { goBinary, requireGo } from '../support/go.js';
import { tsCli } from '../support/peer.js';
import { startServerProcess } from '../support/go-server.js';
import { waitFor } from '../support/system-server.js';
import { REGISTRY_STORES } from '../support/registry-stores.js';
import { discoveryFor, registryTarget } from '../../src/cli/registry.js';


describe('rpcx serve --registry', () => {
  for (const [scheme, start] of Object.entries(REGISTRY_STORES)) {
    it(`GT registry_${scheme}_cli: rpcx serve --registry ${scheme}:// is found and called by a Go XClient, and leaves on SIGTERM`, async (t) => {
      if (!requireGo(t, ['regpeer'])) return;
      const store = await start(t);
      if (store === undefined) return;
      const basePath = '/rpcx_cli';
      const server = await startServerProcess('rpcx serve', process.execPath, [tsCli, 'serve', '--addr', '127.0.0.1:0', '--quiet', '--registry', `${store.url}${basePath}`, '--meta', 'group=cli&weight=3', '--update-interval', '1000'], process.cwd());
      const discovery = await discoveryFor(registryTarget(store.url + basePath), 'Arith');
      try {
        // The entry, as a TS discovery reads it: the served address, our metadata in Go's canonical form.
        await waitFor(async () => (await discovery.getServices()).some((p) => p.key === server.address), `Arith registered at ${server.address}`, 10_000);
        const entry = (await discovery.getServices()).find((p) => p.key === server.address)!;
        assert.equal(entry.value, 'group=cli&weight=3');

        const r = spawnSync(goBinary('regpeer'), ['client', '-registry', store.url, '-base-path', basePath, '-service', 'Arith', '-calls', '5', '-group', 'cli'], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        const done = r.stdout.split('\n').filter((l) => l.includes('"done":true')).map((l) => JSON.parse(l) as { errors: number; counts: Record<string, number> })[0];
        assert.ok(done !== undefined, r.stdout + r.stderr);
        assert.equal(done.errors, 0, r.stdout);
        // Arith.Mul(i, 2) for i = 0..4, as regpeer prints the products.
        assert.deepEqual(Object.keys(done.counts).sort(), ['0', '2', '4', '6', '8']);

        const exited = server.kill('SIGTERM');
        await waitFor(async () => !(await discovery.getServices()).some((p) => p.key === server.address), `Arith unregistered after SIGTERM`, 5_000);
        assert.equal(await exited, 0);
      } finally {
        discovery.close();
        await server.kill('SIGKILL');
        await store.close();
      }
    });
  }
});
