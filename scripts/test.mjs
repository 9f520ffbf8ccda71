// npm test: runs the compiled test files, build/test/**/*.test.js, with Node's test runner, two
// at a time. Only *.test.js files are tests: support modules (build/test/support, codec helpers)
// are not, nor is the long fuzzer (build/test/fuzz/long-fuzz.js, `npm run fuzz`). Node 20's
// `node --test` takes no globs (they came in Node 21), hence this list.
//
//   node scripts/test.mjs [node --test options...] [-- file filters...]
//   node scripts/test.mjs --list       prints the files it would run, one a line
//
// Options before `--` go to `node --test` (e.g. --test-name-pattern=...); words after `--` keep
// only the files whose path (relative to build/test) contains one of them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'build', 'test');

/** build/test/**\/*.test.js, sorted, as paths relative to the repository root. */
export function testFiles() {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.test.js')) files.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(testDir);
  return files.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const options = dash < 0 ? args : args.slice(0, dash);
  const filters = dash < 0 ? [] : args.slice(dash + 1);
  let files;
  try {
    files = testFiles();
  } catch (err) {
    console.error(`no compiled tests in ${relative(root, testDir)} (run npm run build first): ${err.message}`);
    process.exit(1);
  }
  if (filters.length > 0) files = files.filter((f) => filters.some((w) => f.slice('build/test/'.length).includes(w)));
  if (options.includes('--list')) {
    for (const f of files) console.log(f);
    process.exit(0);
  }
  if (files.length === 0) {
    console.error(`no test file matches ${filters.join(' ')}`);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...options, ...files], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
