// GT: the Go rpcx client peer (interop/go/cmd/streamclient: XClient.Stream, SendFile,
// DownloadFile, message streams on XClient.Stream with rpcx frames) against a TS server with
// the stream service and file transfer. Cases 63-69 of interop-cases.md.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { requireGo, runGoCases } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { sha256hex, content, startTsStreamServer, type TsStreamServer } from './support.js';

interface CaseResult {
  case: string;
  ok: boolean;
  ms: number;
  skipped?: string;
  error?: string;
  [k: string]: unknown;
}

function runStreamClient(args: readonly string[]): Promise<CaseResult[]> {
  return runGoCases('streamclient', args, { timeout: '40s' }) as Promise<CaseResult[]>;
}

function passed(t: TestContext, results: CaseResult[], name: string): CaseResult {
  const r = results.find((x) => x.case === name);
  assert.ok(r !== undefined, `no result for ${name}`);
  if (r.skipped !== undefined) t.diagnostic(`${name} skipped: ${r.skipped}`);
  assert.equal(r.ok, true, `${name}: ${r.error}`);
  assert.equal(r.skipped, undefined, `${name} must not skip`);
  return r;
}

describe('GT stream service and file transfer', () => {
  let ts: TsStreamServer | undefined;
  before(async () => {
    if (!goReady()) return;
    ts = await startTsStreamServer({ tokenTtlMs: 300, tokenReadTimeoutMs: 500 });
  });
  after(async () => {
    await ts?.server.close();
  });
  const run = (name: string, extra: readonly string[] = []): Promise<CaseResult[]> => runStreamClient(['-addr', ts!.key, '-case', name, ...extra]);

  test('GT stream_echo', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    passed(t, await run('stream_echo'), 'stream_echo');
  });

  test('GT stream_token_rejected', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    const before = ts!.stream.rejected;
    const r = passed(t, await run('stream_token_rejected', ['-token-ttl', '300ms', '-token-read-timeout', '500ms']), 'stream_token_rejected');
    assert.equal(r['late_check'], undefined);
    assert.equal(r['silent_check'], undefined);
    // wrong, reused, short, silent, late: five connections closed by the server.
    assert.equal(ts!.stream.rejected - before, 5);
  });

  test('GT file_upload', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    const first = ts!.uploads.length;
    const r = passed(t, await run('file_upload'), 'file_upload');
    for (const [i, size] of [0, 1024, 10 * 1024 * 1024].entries()) {
      // Go's SendFile returns before the server handler has finished: wait for the record.
      const u = await ts!.upload(first + i);
      assert.equal(u.args.fileName, `up-go-${size}.bin`);
      assert.equal(u.args.fileSize, size);
      assert.equal(u.received, size);
      assert.equal(u.sha256, r[`file_${size}_sha256`]);
      assert.equal(u.sha256, sha256hex(content(size)));
      assert.deepEqual(Object.fromEntries(u.args.meta), { case: 'file_upload', size: String(size), ünï: 'cødé' });
    }
  });

  test('GT file_download', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    passed(t, await run('file_download'), 'file_download');
  });

  test('GT message_stream_bidi', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    passed(t, await run('message_stream_bidi'), 'message_stream_bidi');
  });

  test('GT message_stream_server', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    passed(t, await run('message_stream_server'), 'message_stream_server');
  });

  test('GT message_stream_error_and_cancel', async (t) => {
    if (!requireGo(t, ['streamclient'])) return;
    const before = ts!.stats.endlessEnded;
    const ended = new Promise<void>((resolve) => ts!.stats.endlessEndedWaiters.push(resolve));
    passed(t, await run('message_stream_error_and_cancel'), 'message_stream_error_and_cancel');
    // The Go caller aborted its Endless stream: the TS handler must end.
    await ended;
    assert.ok(ts!.stats.endlessEnded > before);
  });
});
