// Interop case 81 `cli_call_listen` (TG, TT): the `rpcx` command run as a child process against the
// Go server peer (interop/go/cmd/server, TG) and the TS `rpcx serve` (TT): `call` with every
// codec, metadata and an error reply; `listen` printing pushes; `bench` for one second with its
// count checked against the server's own counter; usage errors. The TTY progress line of `bench`
// runs under util-linux `script`. Directions from support/cases.ts.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/go.js';
import { runsIn } from './support/cases.js';
import { startGoServer, startServerProcess } from './support/go-server.js';
import { peerName, peerOf, peerReady, requirePeer, startPeerServer, tsCli, type PeerServer } from './support/peer.js';
import { rpcx, type Run } from './support/cli.js';
import { makeTestPki } from './support/tls.js';

const PROTO = join(repoRoot, 'interop', 'proto', 'arith.proto');

for (const dir of ['TG', 'TT'] as const) {
  if (!runsIn('cli_call_listen', dir)) continue;
  const kind = peerOf(dir);
  describe(`${dir} cli_call_listen: rpcx against the ${peerName(kind)} server`, { timeout: 120_000 }, () => {
    let srv: PeerServer | undefined;
    const test = (name: string, fn: (t: TestContext, address: string) => Promise<void>): void => {
      it(`${dir} cli_call_listen: ${name}`, async (t) => {
        if (!requirePeer(t, kind)) return;
        await fn(t, srv!.address);
      });
    };

    before(async () => {
      if (peerReady(kind)) srv = await startPeerServer(kind);
    });
    after(async () => {
      await srv?.kill();
    });

    test('call Arith.Mul with json and msgpack prints {"C":42}', async (_t, address) => {
      for (const codec of ['json', 'msgpack']) {
        const r = await rpcx(['call', address, 'Arith.Mul', '{"A":6,"B":7}', '--codec', codec]);
        assert.equal(r.status, 0, `${codec}: ${r.stderr}`);
        assert.equal(r.stdout, '{"C":42}\n', codec);
        assert.equal(r.stderr, '', codec);
      }
      // The default codec (msgpack, Go's DefaultOption) and int64s beyond 2^53 kept exact both ways.
      const big = await rpcx(['call', address, 'Arith.Mul', '{"A":9007199254740993,"B":1}']);
      assert.equal(big.status, 0, big.stderr);
      assert.equal(big.stdout, '{"C":9007199254740993}\n');
      const bigJson = await rpcx(['call', address, 'Arith.Mul', '{"A":-9223372036854775807,"B":1}', '--codec', 'json']);
      assert.equal(bigJson.stdout, '{"C":-9223372036854775807}\n', bigJson.stderr);
    });

    test('call with the raw codec: the argument and stdin are the payload, the reply prints as base64', async (_t, address) => {
      const r = await rpcx(['call', address, 'Echo.Bytes', 'hello', '--codec', 'raw']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `"${Buffer.from('hello').toString('base64')}"\n`);
      const s = await rpcx(['call', address, 'Echo.Bytes', '-', '--codec', 'raw'], { input: 'stdin bytes' });
      assert.equal(s.stdout, `"${Buffer.from('stdin bytes').toString('base64')}"\n`, s.stderr);
    });

    test('call with protobuf (--proto, --type; the reply type found from the .proto)', async (_t, address) => {
      const r = await rpcx(['call', address, 'ArithPB.Mul', '{"A":6,"B":7}', '--codec', 'protobuf', '--proto', PROTO, '--type', 'rpcx.interop.ArithArgs', '-v']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '{"C":42}\n');
      assert.match(r.stderr, /args rpcx\.interop\.ArithArgs, reply rpcx\.interop\.ArithReply/);
      const explicit = await rpcx(['call', address, 'ArithPB.Add', '{"A":9223372036854775806,"B":1}', '--codec', 'pb', '--proto', PROTO, '--type', 'rpcx.interop.ArithArgs', '--reply-type', 'rpcx.interop.ArithReply']);
      assert.equal(explicit.stdout, '{"C":9223372036854775807}\n', explicit.stderr);
    });

    test('call args from stdin (no JSON argument)', async (_t, address) => {
      const r = await rpcx(['call', address, 'Arith.Add', '--codec', 'json'], { input: '{"A":40,"B":2}\n' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '{"C":42}\n');
    });

    test('call --meta: request metadata reaches the server, -v prints the response metadata and timing on stderr', async (_t, address) => {
      const r = await rpcx(['call', address, 'Echo.Metadata', '{}', '--meta', 'tenant=acme', '--meta', 'q=a=b', '-v']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '{}\n', 'stdout holds the reply only');
      const res = /^< metadata (.*)$/m.exec(r.stderr);
      assert.ok(res, r.stderr);
      const meta = JSON.parse(res[1]!) as Record<string, string>;
      assert.equal(meta.tenant, 'acme');
      assert.equal(meta.q, 'a=b');
      assert.equal(meta.__ServerTimeout, '10000', 'the default 10 s timeout travels as __ServerTimeout');
      assert.match(r.stderr, /^< \d+\.\d{3} ms$/m);
    });

    test('call: an error reply exits 1 with Go\'s text on stderr and nothing on stdout', async (_t, address) => {
      const r = await rpcx(['call', address, 'Arith.Div', '{"A":6,"B":0}', '--codec', 'json']);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, 'rpcx: error reply: divide by zero\n');
      const text = await rpcx(['call', address, 'Echo.Error', '{"Text":"boom: ünïcode"}']);
      assert.equal(text.status, 1);
      assert.equal(text.stderr, 'rpcx: error reply: boom: ünïcode\n');
      const unknown = await rpcx(['call', address, 'Nope.Mul', '{}']);
      assert.equal(unknown.status, 1);
      assert.equal(unknown.stderr, 'rpcx: error reply: rpcx: can\'t find service Nope\n');
    });

    test('call over unix@ and http@ (HTTP CONNECT) addresses', async (t) => {
      const dir0 = mkdtempSync(join(tmpdir(), 'rpcx-cli-'));
      const extra: PeerServer[] = [];
      try {
        extra.push(await startPeerServer(kind, { unixPath: join(dir0, 's.sock') }));
        extra.push(
          kind === 'go'
            ? await startGoServer(['-network', 'http', '-addr', '127.0.0.1:0'])
            : await startServerProcess('TS server', process.execPath, [tsCli, 'serve', '--quiet', '--network', 'http', '--addr', '127.0.0.1:0'], repoRoot),
        );
        assert.match(extra[0]!.address, /^unix@/);
        assert.match(extra[1]!.address, /^http@127\.0\.0\.1:\d+$/);
        for (const s of extra) {
          const r = await rpcx(['call', s.address, 'Arith.Mul', '{"A":6,"B":7}']);
          assert.equal(r.status, 0, `${s.address}: ${r.stderr}`);
          assert.equal(r.stdout, '{"C":42}\n', s.address);
        }
      } finally {
        await Promise.all(extra.map((s) => s.kill()));
        rmSync(dir0, { recursive: true, force: true });
      }
      void t;
    });

    test('call with --auth, --gzip and TLS (--tls-ca)', async (t) => {
      const dir0 = mkdtempSync(join(tmpdir(), 'rpcx-cli-'));
      const extra: PeerServer[] = [];
      try {
        const authed = await startPeerServer(kind, { auth: 'sesame' });
        extra.push(authed);
        const ok = await rpcx(['call', authed.address, 'Arith.Mul', '{"A":6,"B":7}', '--auth', 'sesame']);
        assert.equal(ok.stdout, '{"C":42}\n', ok.stderr);
        const refused = await rpcx(['call', authed.address, 'Arith.Mul', '{"A":6,"B":7}', '--auth', 'wrong']);
        assert.equal(refused.status, 1);
        assert.equal(refused.stderr, 'rpcx: error reply: invalid token\n');

        // 3000 bytes raw with --gzip: compressed on the way out, the echo comes back whole.
        const big = 'x'.repeat(3000);
        const gz = await rpcx(['call', srv!.address, 'Echo.Bytes', big, '--codec', 'raw', '--gzip']);
        assert.equal(gz.status, 0, gz.stderr);
        assert.equal(Buffer.from(JSON.parse(gz.stdout) as string, 'base64').toString(), big);

        if (spawnSync('openssl', ['version']).status !== 0) {
          t.diagnostic('openssl not found: the TLS part is skipped');
          return;
        }
        const { ca, cert, key } = makeTestPki(dir0);
        const tls = await startPeerServer(kind, { tls: { cert, key } });
        extra.push(tls);
        const viaTls = await rpcx(['call', tls.address, 'Arith.Mul', '{"A":6,"B":7}', '--tls-ca', ca]);
        assert.equal(viaTls.stdout, '{"C":42}\n', viaTls.stderr);
        const untrusted = await rpcx(['call', tls.address, 'Arith.Mul', '{"A":6,"B":7}', '--tls-ca', cert, '--timeout', '5s']);
        assert.equal(untrusted.status, 1);
        assert.match(untrusted.stderr, /^rpcx: CONNECTION: /);
      } finally {
        await Promise.all(extra.map((s) => s.kill()));
        rmSync(dir0, { recursive: true, force: true });
      }
    });

    test('listen prints each push of Push.Start as one JSON line', async (_t, address) => {
      const args = { Path: 'news', Method: 'tick', Metadata: { k: 'v' }, Count: 3, IntervalMs: 10 };
      const r = await rpcx(['listen', address, 'Push.Start', JSON.stringify(args), '--count', '3', '--codec', 'json', '--wait', '10s']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /Push\.Start replied \{"Sent":0\}/);
      const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 3);
      lines.forEach((p, i) => {
        assert.equal(p.servicePath, 'news');
        assert.equal(p.serviceMethod, 'tick');
        assert.deepEqual(p.metadata, { k: 'v' });
        assert.equal(p.serializeType, 0);
        // Payload: the (empty) prefix and the 8-byte big-endian push index, as base64.
        const payload = Buffer.from(p.payload as string, 'base64');
        assert.equal(payload.length, 8);
        assert.equal(payload.readBigUInt64BE(0), BigInt(i));
      });
    });

    test('listen --push-codec: a payload that does not decode prints as base64 with payloadError', async (_t, address) => {
      const r = await rpcx(['listen', address, 'Push.Burst', '{"Path":"x","Method":"y","Count":1}', '--count', '1', '--push-codec', 'json', '--wait', '10s']);
      assert.equal(r.status, 0, r.stderr);
      const p = JSON.parse(r.stdout) as { payload: string; payloadError: string };
      assert.equal(Buffer.from(p.payload, 'base64').length, 8);
      assert.match(p.payloadError, /invalid character/);
    });

    test('listen --wait: no push within the wait exits 1', async (_t, address) => {
      const r = await rpcx(['listen', address, '--wait', '300ms']);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /no push for 300 ms \(0 received\)/);
    });

    test('listen: the server going away ends listen with exit 1 (connection lost)', async () => {
      const victim = await startPeerServer(kind);
      const p = spawn(process.execPath, [tsCli, 'listen', victim.address], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let stderr = '';
        p.stderr.setEncoding('utf8');
        const listening = new Promise<void>((resolve, reject) => {
          p.stderr.on('data', (d: string) => {
            stderr += d;
            if (stderr.includes('listening for pushes from')) resolve();
          });
          p.once('exit', (code) => reject(new Error(`listen exited with ${code} before listening: ${stderr}`)));
        });
        await listening;
        const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
        await victim.kill();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const code = await Promise.race([exited, new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 10_000)))]);
        clearTimeout(timer);
        assert.equal(code, 1, stderr);
        assert.match(stderr, /rpcx: CONNECTION: connection lost: /);
      } finally {
        p.kill('SIGKILL');
        await victim.kill();
      }
    });

    test('bench for one second: its count is the number of calls the server counted', async (_t, address) => {
      const key = `bench-${dir}-${process.pid}`;
      const r = await rpcx(['bench', address, 'Echo.Count', JSON.stringify({ Key: key }), '-d', '1s', '-c', '4', '--connections', '2', '--json'], { timeoutMs: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '', 'no progress line when stderr is not a terminal');
      const s = JSON.parse(r.stdout) as { count: number; ok: number; errors: Record<string, number>; durationMs: number; callsPerSecond: number; latencyMs: Record<string, number>; sampled: boolean; samples: number };
      assert.ok(s.count > 0);
      assert.equal(s.ok, s.count);
      assert.deepEqual(s.errors, {});
      assert.ok(s.durationMs >= 1000 && s.durationMs < 15_000, `durationMs ${s.durationMs}`);
      assert.ok(Math.abs(s.callsPerSecond - s.count / (s.durationMs / 1000)) < 1e-6);
      const { min, p50, p90, p99, 'p99.9': p999, max } = s.latencyMs;
      assert.ok(min! > 0 && min! <= p50! && p50! <= p90! && p90! <= p99! && p99! <= p999! && p999! <= max!, JSON.stringify(s.latencyMs));
      assert.equal(s.samples, Math.min(s.count, 100_000));
      const got = await rpcx(['call', address, 'Echo.GetCount', JSON.stringify({ Key: key })]);
      assert.equal(got.stdout, `{"Count":${s.ok}}\n`, 'the server ran exactly the calls bench counted');
    });

    test('bench -n: errors are counted by code; all failed exits 1', async (_t, address) => {
      const r = await rpcx(['bench', address, 'Arith.Div', '{"A":1,"B":0}', '-n', '50', '-c', '5', '--json']);
      assert.equal(r.status, 1, r.stderr);
      const s = JSON.parse(r.stdout) as { count: number; ok: number; errors: Record<string, number> };
      assert.equal(s.count, 50);
      assert.equal(s.ok, 0);
      assert.deepEqual(s.errors, { 'SERVICE: divide by zero': 50 });
      const text = await rpcx(['bench', address, 'Arith.Mul', '{"A":1,"B":2}', '-n', '20', '-c', '3']);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /^Summary:\n {2}Count: +20\n/);
      assert.match(text.stdout, /\n {2}99\.9 % in [\d.]+ (ms|µs)\n/);
      assert.match(text.stdout, /\n {2}\[OK\] +20 calls\n$/);
    });

    test("bench's live progress line on a terminal (util-linux script)", async (t, address) => {
      if (spawnSync('script', ['--version'], { encoding: 'utf8' }).status !== 0) {
        t.skip('util-linux script is not installed');
        return;
      }
      const run = (env: NodeJS.ProcessEnv): Run => {
        const cmd = `'${process.execPath}' '${tsCli}' bench ${address} Arith.Mul '{"A":6,"B":7}' -d 1s -c 2`;
        const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 30_000, env });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const { NO_COLOR: _, ...noNoColor } = process.env;
      const tty = run({ ...noNoColor, TERM: 'xterm' });
      assert.equal(tty.status, 0, tty.stdout + tty.stderr);
      // Each update rewrites the line: CR, erase line, bold elapsed time, counts.
      assert.match(tty.stdout, /\r\x1b\[K\x1b\[1m\[\d+\.\ds\]\x1b\[0m \d+ calls, \d+\/s, 0 errors/);
      assert.match(tty.stdout, /Summary:\r?\n/);
      const plain = run({ ...noNoColor, NO_COLOR: '1', TERM: 'xterm' });
      assert.equal(plain.status, 0, plain.stdout);
      assert.match(plain.stdout, /\r\x1b\[K\[\d+\.\ds\] \d+ calls, \d+\/s, 0 errors/, 'NO_COLOR: the same line without colour');
      assert.doesNotMatch(plain.stdout, /\x1b\[1m/);
    });
  });
}

describe('rpcx usage errors exit 2 with the usage on stderr', () => {
  it('bad command lines of call, listen, bench, decode, discover', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['call'], /^rpcx: missing ADDRESS\n\nusage: rpcx call /],
      [['call', 'tcp@127.0.0.1:1'], /^rpcx: missing Service\.Method\n/],
      [['call', 'tcp@127.0.0.1:1', 'ArithMul'], /^rpcx: expected Service\.Method, got "ArithMul"\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{"A":'], /^rpcx: the args is not valid JSON: unexpected EOF\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--codec', 'xml'], /^rpcx: --codec must be one of json \| msgpack \| raw \| protobuf, got "xml"\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--codec', 'protobuf'], /^rpcx: --codec protobuf needs --proto FILE and --type pkg\.Message\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--codec', 'protobuf', '--proto', PROTO, '--type', 'rpcx.interop.Nope'], /^rpcx: --type rpcx\.interop\.Nope: no such message/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--meta', 'novalue'], /^rpcx: --meta takes key=value, got "novalue"\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--timeout', 'soon'], /^rpcx: --timeout must be a duration/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--select', 'random'], /^rpcx: --select needs a registry address/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', 'extra'], /^rpcx: unexpected argument "extra"\n/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '--bogus'], /^rpcx: Unknown option '--bogus'/],
      [['listen'], /^rpcx: missing ADDRESS\n\nusage: rpcx listen /],
      [['listen', 'tcp@127.0.0.1:1', '--count', '0'], /^rpcx: --count must be an integer >= 1, got "0"\n/],
      [['listen', 'etcd://127.0.0.1:1/rpcx'], /^rpcx: a registry ADDRESS needs Service\.Method\n/],
      [['bench', 'tcp@127.0.0.1:1', 'Arith.Mul', '-n', '5', '-d', '1s'], /^rpcx: give -n or -d, not both\n\nusage: rpcx bench /],
      [['bench', 'tcp@127.0.0.1:1', 'Arith.Mul', '-c', '1.5'], /^rpcx: --concurrency must be an integer >= 1, got "1\.5"\n/],
      [['decode'], /^rpcx: no input: empty\n\nusage: rpcx decode /],
      [['decode', '08', '--file', '/dev/null'], /^rpcx: give HEX arguments or --file, not both\n/],
      [['discover'], /^rpcx: missing REGISTRY\n\nusage: rpcx discover /],
      [['discover', 'etcd://127.0.0.1:1/rpcx', '--watch'], /^rpcx: --watch needs a Service\n/],
      [['discover', 'tcp@127.0.0.1:1', 'Arith'], /^rpcx: REGISTRY must be a URL/],
    ];
    for (const [args, re] of cases) {
      const r = await rpcx(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.match(r.stderr, /\nusage: rpcx /, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n {4}at /, 'no stack trace');
    }
  });

  it('every subcommand has --help on stdout, exit 0', async () => {
    for (const cmd of ['call', 'listen', 'bench', 'decode', 'discover', 'serve']) {
      const r = await rpcx([cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`usage: rpcx ${cmd} `), r.stdout);
      assert.equal(r.stderr, '');
    }
  });

  it('runtime failures exit 1 with a typed error and no stack trace: ws@ refused, unknown network, refused connection, unknown registry', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['call', 'ws@127.0.0.1:1', 'Arith.Mul', '{}', '--timeout', '2s'], /^rpcx: CONNECTION: /],
      [['call', 'quic@127.0.0.1:1', 'Arith.Mul', '{}'], /^rpcx: INVALID_ARGUMENT: unsupported network "quic"/],
      [['call', 'tcp@127.0.0.1:1', 'Arith.Mul', '{}', '--timeout', '2s'], /^rpcx: CONNECTION: dial tcp 127\.0\.0\.1:1: connect: connection refused/],
      [['call', 'consul://127.0.0.1:1/rpcx', 'Arith.Mul', '{}'], /^rpcx: INVALID_ARGUMENT: unknown registry "consul"/],
      [['discover', 'consul://127.0.0.1:1/rpcx', 'Arith'], /^rpcx: INVALID_ARGUMENT: unknown registry "consul"/],
    ];
    for (const [args, re] of cases) {
      const r = await rpcx(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n {4}at /, 'no stack trace');
    }
  });
});

describe('rpcx over WebSocket', () => {
  it('TT cli_call_listen: rpcx call ws@ against rpcx serve --network ws', async () => {
    const server = await startServerProcess('rpcx serve ws', process.execPath, [tsCli, 'serve', '--addr', 'ws@127.0.0.1:0', '--quiet'], repoRoot);
    try {
      assert.match(server.address, /^ws@127\.0\.0\.1:\d+$/);
      const r = await rpcx(['call', server.address, 'Arith.Mul', '{"A":6,"B":7}']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), '{"C":42}');
    } finally {
      await server.kill('SIGKILL');
    }
  });
});
