// The named interop case table (test/support/cases.ts) and the check `npm test` runs with it
// after a full run (scripts/test.mjs + scripts/case-reporter.mjs): every case 1-81 is listed once,
// and a title covers a (case, direction) pair only when it names both as whole words.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CASES, covers, requiredRuns } from '../support/cases.js';

test('the case table lists each of the 81 named cases once, every one with a direction', () => {
  assert.deepEqual(
    CASES.map((c) => c.n).sort((a, b) => a - b),
    Array.from({ length: 81 }, (_, i) => i + 1),
  );
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  for (const c of CASES) assert.ok(c.dirs.length > 0, `case ${c.n} has a direction`);
  const runs = requiredRuns();
  assert.ok(runs.some((r) => r.name === 'registry_zk_outage' && r.dir === 'TG'), '<reg> expands to zk');
  assert.ok(!runs.some((r) => r.name.includes('<reg>')));
  assert.ok(runs.some((r) => r.name === 'registry_mixed_pool' && r.dir === 'MIX'));
});

test('covers: the case name and the direction as whole words, anywhere in the full title', () => {
  assert.ok(covers('TT websocket', 'websocket', 'TT'));
  assert.ok(!covers('TT browser_websocket: headless Chromium', 'websocket', 'TT'), 'a longer case name is another case');
  assert.ok(covers('TT, TG and GT http_connect over TLS', 'http_connect', 'TG'));
  assert.ok(covers('case 73 http_gateway (GT-style): the TS gateway answers as Go > unknown service', 'http_gateway', 'GT'));
  assert.ok(!covers('TG registry_zk_leave', 'registry_zk_leave', 'GT'));
  assert.ok(!covers('GT registry_zk_leave_soon', 'registry_zk_leave', 'GT'));
  assert.ok(!covers('GTX registry_zk_leave', 'registry_zk_leave', 'GT'));
});

test('the case reporter records passed tests with their describe blocks, and not skipped ones', () => {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-cases-'));
  try {
    const file = join(dir, 'sample.test.mjs');
    writeFileSync(
      file,
      `import { describe, test } from 'node:test';
describe('case 99 outer', () => {
  test('TT first', () => {});
  test('TG skipped', { skip: 'no server' }, () => {});
  describe('GT inner', () => { test('leaf', () => {}); });
});
test('at run time', (t) => { t.skip('gone'); });
`,
    );
    const out = join(dir, 'passed.jsonl');
    // Without NODE_TEST_CONTEXT, which would make the child report to this test runner instead.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${join(root, 'scripts', 'case-reporter.mjs')}`, `--test-reporter-destination=${out}`, file], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const titles = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as string);
    assert.ok(titles.includes('case 99 outer > TT first'), titles.join(' | '));
    assert.ok(titles.includes('case 99 outer > GT inner > leaf'), titles.join(' | '));
    assert.ok(!titles.some((t) => t.includes('skipped') || t.includes('at run time')), titles.join(' | '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
