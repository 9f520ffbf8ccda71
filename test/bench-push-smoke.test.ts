// A smoke run of the push benchmark (bench/push.ts, issue 13) with tiny windows: every cell at
// one connection must count pushes (or server-to-client calls) without error. It says nothing
// about speed; `npm run bench:push` measures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { goBinary, repoRoot, requireGo } from './support/go.js';

test('bench:push smoke: each cell counts pushes or calls', { timeout: 90_000 }, (t) => {
  if (!requireGo(t, ['server', 'pushbench'])) return;
  goBinary('server');
  goBinary('pushbench');
  const out = mkdtempSync(join(tmpdir(), 'rpcx-bench-push-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'build', 'bench', 'push.js'), '--reps', '1', '--warmup', '100', '--duration', '200', '--cells', 'G1,B1,T1,A1,S1', '--out', out], { encoding: 'utf8', timeout: 80_000 });
    assert.equal(r.status, 0, `bench:push exited ${r.status}: ${r.stderr}`);
    const file = readdirSync(out).find((f) => f.endsWith('-push.json'));
    assert.ok(file !== undefined, 'no result file');
    const res = JSON.parse(readFileSync(join(out, file), 'utf8')) as { rows: Array<{ id: string; median: number }>; errors: string[] };
    assert.deepEqual(res.errors, []);
    assert.deepEqual(res.rows.map((x) => x.id), ['G1', 'B1', 'T1', 'A1', 'S1']);
    for (const row of res.rows) assert.ok(row.median > 0, `${row.id}: ${row.median}/s`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
