// STYLE.md 13: the README's example runs. Its TypeScript block must be examples/readme.ts (with
// the package import), and that file must run and print what the README says.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './support/go.js';

it('the README example is examples/readme.ts', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a ts block');
  const file = readFileSync(join(repoRoot, 'examples', 'readme.ts'), 'utf8').replace("from '../src/index.js'", "from 'rpcx'");
  assert.equal(block, file);
});

it('the README example runs and prints what it says', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'build', 'examples', 'readme.js')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['{ C: 42 }', 'Event hello']);
});
