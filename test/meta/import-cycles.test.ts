// No import cycles in src/ (STYLE.md 15), type-only imports included: scripts/check-import-cycles.mjs.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/go.js';

const script = join(repoRoot, 'scripts', 'check-import-cycles.mjs');

function check(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

it('src/ has no import cycle', () => {
  const r = check(join(repoRoot, 'src'));
  assert.equal(r.status, 0, r.out);
});

it('the check finds a cycle made of type-only imports, re-exports and index files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-cycles-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'src', 'sub'), { recursive: true });
  const write = (name: string, text: string): void => writeFileSync(join(dir, 'src', name), text);
  write('a.ts', "import type {\n  B,\n} from './b.js';\nexport interface A { b: B }\n");
  write('b.ts', "export { c } from './sub/index.js';\nexport interface B { n: number }\n");
  write('sub/index.ts', "import { type A } from '../a.js';\nexport const c = (a: A) => a;\n");
  // Not edges: comments, strings, packages.
  write('d.ts', "// import { A } from './a.js';\n/* export * from './e.js' */\nconst s = \"import x from './e.js'\";\nimport debug from 'debug';\nexport { s, debug };\n");
  write('e.ts', "import { s } from './d.js';\nexport const t = s;\n");
  const r = check(join(dir, 'src'));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /import cycle among 3 modules: src\/a\.ts, src\/b\.ts, src\/sub\/index\.ts/);
  assert.match(r.out, /src\/a\.ts -> src\/b\.ts -> src\/sub\/index\.ts -> src\/a\.ts/);
  assert.doesNotMatch(r.out, /d\.ts|e\.ts/);
});
