// GT direction of the bidirectional cases (interop-cases.md 78-80): the Go rpcx client peer
// (interop/go/cmd/client, cases_bidi.go) against a Node server with the demo services plus the
// TS-only Session and KV services (src/server/demo/bidi-services.ts).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { registerBidiServices, type KV } from '../../src/server/demo/bidi-services.js';
import { requireGo, runGoCases } from '../support/go.js';

interface CaseResult {
  case: string;
  ok: boolean;
  skipped?: string;
  error?: string;
  [k: string]: unknown;
}

function runGoClient(args: readonly string[]): Promise<CaseResult[]> {
  return runGoCases('client', args);
}

describe('Go rpcx client -> Node server (GT), bidirectional cases', { timeout: 60_000 }, () => {
  let server: RpcxServer | undefined;
  let kv: KV | undefined;
  let key: Promise<string> | undefined;
  const start = (): Promise<string> => {
    key ??= (async () => {
      server = createServer({ codecs: demoCodecs() });
      registerDemoServices(server);
      ({ kv } = registerBidiServices(server));
      return server.serve('tcp', '127.0.0.1:0');
    })();
    return key;
  };
  after(async () => {
    await server?.close();
  });

  for (const name of ['server_calls_client', 'push_by_user', 'watch_long_poll']) {
    test(`GT ${name}`, async (t) => {
      if (!requireGo(t, ['client'])) return;
      const results = await runGoClient(['-addr', await start(), '-case', name]);
      assert.equal(results.length, 1);
      const r = results[0]!;
      assert.equal(r.case, name);
      assert.equal(r.skipped, undefined, `skipped: ${r.skipped}`);
      assert.ok(r.ok, r.error);
      for (const [k, v] of Object.entries(r)) if (!['case', 'ok', 'ms'].includes(k)) t.diagnostic(`${k}: ${JSON.stringify(v)}`);
    });
  }

  test('after the Go cases: no tag, watcher or server-to-client call left behind', async (t) => {
    if (!requireGo(t, ['client']) || server === undefined) return;
    const s = server;
    const deadline = Date.now() + 5_000;
    while (s.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.connections.size, 0);
    assert.equal(kv!.waiting, 0);
  });
});
