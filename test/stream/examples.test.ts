// examples/route-chat.ts and examples/micro-stream.ts run as a user runs them, against the Go
// server peer with `-stream` (and micro-stream also against its own TS server).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady } from '../support/tg.js';

function runExample(name: string, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'build', 'examples', `${name}.js`), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example ${name} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, lines: stdout.trim().split('\n') });
    });
  });
}

const MICRO = [
  'Stream: got 10 replies: 0 1 2 3 4 5 6 7 8 9',
  'PingPong: sent ping 1, got pong 1',
  'PingPong: sent ping 2, got pong 2',
  'PingPong: sent ping 3, got pong 3',
  'PingPong: end-of-stream true',
];

describe('stream examples', { timeout: 60_000 }, () => {
  let go: GoServer | undefined;
  before(async () => {
    if (goReady()) go = await startGoServer(['-stream']);
  });
  after(async () => {
    await go?.kill();
  });

  it('example route-chat (against the Go server peer)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('route-chat', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    // gRPC's route_guide output: each note comes back once another is sent at the same point.
    assert.deepEqual(r.lines, [
      'Got message "First message" at point(0, 1)',
      'Got message "Second message" at point(0, 2)',
      'Got message "Third message" at point(0, 3)',
    ]);
  });

  it('example micro-stream (its own TS server)', async () => {
    const r = await runExample('micro-stream', []);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, MICRO);
  });

  it('example micro-stream (against the Go server peer)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('micro-stream', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, MICRO);
  });
});
