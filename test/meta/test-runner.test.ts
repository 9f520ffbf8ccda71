// npm test runs exactly the compiled *.test.js files (scripts/test.mjs): the bounded decoder fuzz
// is one of them; the support modules and the 60-second fuzzer (npm run fuzz) are not.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/go.js';

it('npm test runs scripts/test.mjs, npm run fuzz the long fuzzer', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts['test'], 'node scripts/test.mjs');
  assert.match(pkg.scripts['fuzz'] ?? '', /build\/test\/fuzz\/long-fuzz\.js/);
});

it('scripts/test.mjs runs every *.test.js and nothing else', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'test.mjs'), '--list'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.trim().split('\n');
  assert.ok(files.length >= 20, r.stdout);
  for (const f of files) assert.match(f, /^build\/test\/.+\.test\.js$/);
  assert.ok(files.includes('build/test/protocol/fuzz.test.js'), 'the bounded fuzz runs in npm test');
  assert.ok(files.includes('build/test/meta/test-runner.test.js'), 'this file runs');
  assert.ok(!files.some((f) => f.includes('long-fuzz') || f.includes('/support/')), r.stdout);
});

it('scripts/test.mjs keeps only the files named after --', () => {
  const all = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'test.mjs'), '--list'], { encoding: 'utf8' });
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'test.mjs'), '--list', '--', 'protocol/'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const kept = r.stdout.trim().split('\n');
  assert.ok(kept.includes('build/test/protocol/vectors.test.js'), r.stdout);
  assert.deepEqual(kept, all.stdout.trim().split('\n').filter((f) => f.includes('protocol/')));
});
