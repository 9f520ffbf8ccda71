// GT direction: the Go rpcx client peer (interop/go/cmd/client, a real XClient and
// NewBidirectionalXClient) runs its named cases against this Node server with the demo services.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { createServer, tokenAuth, type RpcxServer, type ServerOptions, type ServeNetwork } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { requireGo, runGoCases } from '../support/go.js';

interface CaseResult {
  case: string;
  ok: boolean;
  ms: number;
  skipped?: string;
  error?: string;
  [k: string]: unknown;
}

async function startServer(options: ServerOptions = {}, network: ServeNetwork = 'tcp', address = '127.0.0.1:0'): Promise<{ server: RpcxServer; key: string }> {
  const server = createServer({ codecs: demoCodecs(), ...options });
  registerDemoServices(server);
  const key = await server.serve(network, address);
  return { server, key };
}

/** Runs the Go client with `args`; `onStderrLine` sees its stderr lines (INFLIGHT markers). */
function runGoClient(args: readonly string[], onStderrLine?: (line: string) => void): Promise<CaseResult[]> {
  return runGoCases('client', args, onStderrLine === undefined ? {} : { onStderrLine }) as Promise<CaseResult[]>;
}

function check(t: TestContext, results: CaseResult[], expected: readonly string[]): void {
  assert.deepEqual(
    results.map((r) => r.case).sort(),
    [...expected].sort(),
  );
  const failed = results.filter((r) => !r.ok);
  for (const r of results) if (r.skipped !== undefined) t.diagnostic(`${r.case} skipped: ${r.skipped}`);
  assert.deepEqual(
    failed.map((r) => `${r.case}: ${r.error}`),
    [],
  );
}

const PLAIN_CASES = [
  'empty_payload',
  'arith_msgpack',
  'arith_json',
  'arith_protobuf',
  'arith_thrift',
  'raw_all_bytes',
  'large_payload',
  'int64_extremes',
  'unicode_strings',
  'time_values',
  'nested_and_nil',
  'gzip_above_threshold',
  'gzip_at_threshold',
  'gzip_reply_needs_compressed_request',
  'metadata_round_trip',
  'metadata_many_entries',
  'metadata_non_utf8',
  'service_error_text',
  'unknown_service',
  'unknown_method',
  'bad_args',
  'handler_throws',
  'oneway',
  'heartbeat_echo_exact',
  'deadline_propagation',
  'timeout_on_sleeping_server',
  'concurrent_out_of_order',
  'push_basic',
  'push_burst_in_order',
  'push_before_reply',
  'push_to_closed_connection',
  'push_broadcast',
  'garbage_bytes',
] as const;

// Every case is its own test named `GT <case>` (npm run interop -- <case> selects it); each runs
// the Go client peer with just that case against a Node server set up as the case needs.
describe('Go rpcx client -> Node server (GT)', () => {
  const servers: RpcxServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const serverFor = new Map<string, Promise<string>>();
  /** One in-process server per setup, started when the first case that needs it runs. */
  const keyFor = (setup: string, options: ServerOptions = {}, network: ServeNetwork = 'tcp', address = '127.0.0.1:0'): Promise<string> => {
    let key = serverFor.get(setup);
    if (key === undefined) {
      key = startServer(options, network, address).then(({ server, key: k }) => {
        servers.push(server);
        return k;
      });
      serverFor.set(setup, key);
    }
    return key;
  };
  const runCase = async (t: TestContext, name: string, key: string, args: readonly string[] = [], also: readonly string[] = []): Promise<CaseResult[]> => {
    const cases = [name, ...also];
    const results = await runGoClient(['-addr', key, ...args, '-case', cases.join(',')]);
    check(t, results, cases);
    return results;
  };

  for (const name of PLAIN_CASES) {
    test(`GT ${name}`, async (t) => {
      if (!requireGo(t, ['client'])) return;
      const results = await runCase(t, name, await keyFor('plain'));
      if (name === 'handler_throws' || name === 'push_broadcast') assert.equal(results[0]!.skipped, undefined, 'TS-only demo services missing');
    });
  }

  for (const name of ['auth_ok', 'auth_rejected_closes']) {
    test(`GT ${name}`, async (t) => {
      if (!requireGo(t, ['client'])) return;
      const results = await runCase(t, name, await keyFor('auth', { authFunc: tokenAuth('s3cret') }), ['-auth', 's3cret']);
      assert.ok(results.every((r) => r.skipped === undefined));
    });
  }

  // server read timeout 1 s, frame limit 1 MiB
  for (const name of ['heartbeat_keeps_idle_alive', 'max_message_length']) {
    test(`GT ${name}`, async (t) => {
      if (!requireGo(t, ['client'])) return;
      const key = await keyFor('limits', { readTimeoutMs: 1000, maxMessageLength: 1 << 20 });
      const results = await runCase(t, name, key, ['-read-timeout', '1s', '-max-message-length', String(1 << 20)]);
      assert.ok(results.every((r) => r.skipped === undefined));
    });
  }

  test('GT unix_socket', async (t) => {
    if (!requireGo(t, ['client'])) return;
    const path = join(tmpdir(), `rpcx-gt-${process.pid}.sock`);
    rmSync(path, { force: true });
    await runCase(t, 'unix_socket', await keyFor('unix', {}, 'unix', path), [], ['arith_msgpack', 'push_basic']);
  });

  test('GT http_connect', async (t) => {
    if (!requireGo(t, ['client'])) return;
    const results = await runGoClient(['-addr', await keyFor('http', {}, 'http'), '-case', 'arith_msgpack,push_basic,heartbeat_echo_exact']);
    check(t, results, ['arith_msgpack', 'heartbeat_echo_exact', 'push_basic']);
  });

  test('GT tls', async (t) => {
    if (!requireGo(t, ['client'])) return;
    if (spawnSync('openssl', ['version']).status !== 0) {
      t.skip('openssl not found');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'rpcx-tls-'));
    try {
      const run = (...a: string[]): void => {
        const r = spawnSync('openssl', a, { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=rpcx test CA');
      run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
      const ext = join(dir, 'ext.cnf');
      writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '1', '-extfile', 'ext.cnf');
      const { server, key } = await startServer({ tls: { cert: readFileSync(join(dir, 'srv.pem')), key: readFileSync(join(dir, 'srv.key')) } });
      servers.push(server);
      const results = await runGoClient(['-addr', key, '-tls-ca', join(dir, 'ca.pem'), '-case', 'tls,arith_msgpack']);
      check(t, results, ['arith_msgpack', 'tls']);
      assert.ok(results.every((r) => r.skipped === undefined));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // server.shutdown() once the Go client prints its INFLIGHT line
  test('GT graceful_shutdown_in_flight', async (t) => {
    if (!requireGo(t, ['client'])) return;
    const { server, key } = await startServer();
    servers.push(server);
    let shutdown: Promise<void> | undefined;
    const results = await runGoClient(['-addr', key, '-case', 'graceful_shutdown_in_flight', '-inflight', '20', '-inflight-sleep', '500ms'], (line) => {
      if (line.startsWith('INFLIGHT')) shutdown = server.shutdown({ timeoutMs: 10_000 });
    });
    check(t, results, ['graceful_shutdown_in_flight']);
    assert.ok(shutdown !== undefined, 'no INFLIGHT line');
    await shutdown;
  });
});
