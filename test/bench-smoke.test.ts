// A smoke run of the side-by-side benchmark (bench/run.ts, issue 5) with tiny counts: every
// cell of both payloads at two concurrencies must produce calls with verified replies. It says
// nothing about speed; `npm run bench` measures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { goBinary, repoRoot, requireGo } from './support/go.js';

test('bench:quick smoke: all cells produce verified calls', { timeout: 60_000 }, (t) => {
  if (!requireGo(t, ['server', 'benchclient'])) return;
  goBinary('server');
  goBinary('benchclient');
  const out = mkdtempSync(join(tmpdir(), 'rpcx-bench-smoke-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'build', 'bench', 'run.js'), '--smoke', '--out', out], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 0, `bench exited ${r.status}: ${r.stderr}`);
    const file = readdirSync(out).find((f) => f.endsWith('-smoke.json'));
    assert.ok(file !== undefined, 'no result file');
    assert.ok(readdirSync(out).some((f) => f.endsWith('-smoke.svg')), 'no chart');
    const res = JSON.parse(readFileSync(join(out, file), 'utf8')) as {
      summaries: Array<{ payload: string; config: string; cell: string; valid: number; voids: number; errors: string[]; callsPerSec: { median: number } }>;
      ratios: Array<{ name: string; callsPerSec: number }>;
      memory: { clientPending: Record<string, { rssBytes: number; error?: string }>; serverIdle: Record<string, { bytesPerConnection: number; error?: string }> };
    };
    assert.equal(res.summaries.length, 2 * 2 * 6);
    for (const s of res.summaries) {
      assert.equal(s.voids, 0, `${s.payload} ${s.config} ${s.cell} void: ${s.errors.join(' | ')}`);
      assert.ok(s.valid === 1 && s.callsPerSec.median > 0, `${s.payload} ${s.config} ${s.cell}: no calls`);
    }
    for (const name of ['A/G', 'B/G', 'T/R', 'T/E']) {
      assert.ok(res.ratios.some((x) => x.name === name && Number.isFinite(x.callsPerSec)), `ratio ${name}`);
    }
    for (const side of ['go', 'ts']) {
      assert.equal(res.memory.clientPending[side]?.error, undefined);
      assert.ok((res.memory.clientPending[side]?.rssBytes ?? 0) > 0);
      assert.equal(res.memory.serverIdle[side]?.error, undefined);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
