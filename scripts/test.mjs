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
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  // The usual output (Node's default: spec on a terminal, tap otherwise), plus the titles of the
  // passed tests for the interop-case check below.
  const tmp = mkdtempSync(join(tmpdir(), 'rpcx-test-'));
  const passedFile = join(tmp, 'passed.jsonl');
  const reporters = [
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts', 'case-reporter.mjs')}`,
    `--test-reporter-destination=${passedFile}`,
  ];
  const userReporter = options.some((o) => o.startsWith('--test-reporter'));
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...(userReporter ? [] : reporters), ...options, ...files], { cwd: root, stdio: 'inherit' });
  let status = r.status ?? 1;
  // After a full run (every file, no name pattern): every named interop case must have passed in
  // every direction test/support/cases.ts lists for it. Under CI=true a gap fails the run.
  const full = filters.length === 0 && !userReporter && !options.some((o) => o.startsWith('--test-name-pattern') || o.startsWith('--test-only'));
  if (full) {
    const gaps = await caseGaps(passedFile);
    if (gaps === undefined) {
      console.error('interop cases: no record of the passed tests, not checked');
      if (process.env.CI === 'true') status ||= 1;
    } else if (gaps.missing.length === 0) {
      console.log(`interop cases: all ${gaps.required} (case, direction) runs passed`);
    } else {
      const bar = '!'.repeat(78);
      console.error(`${bar}\ninterop cases: ${gaps.missing.length} of ${gaps.required} (case, direction) runs did not pass (failed, skipped or missing):`);
      for (const m of gaps.missing) console.error(`  ${m.n} ${m.dir} ${m.name}`);
      console.error(process.env.CI === 'true' ? 'CI=true: this fails the run.' : 'Not under CI=true: reported only.');
      console.error(bar);
      if (process.env.CI === 'true') status ||= 1;
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  process.exit(status);
}

/** The (case, direction) runs of build/test/support/cases.js that no passed title covers. */
async function caseGaps(passedFile) {
  let titles;
  try {
    titles = readFileSync(passedFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  } catch {
    return undefined;
  }
  const { requiredRuns, covers } = await import(join(root, 'build', 'test', 'support', 'cases.js'));
  const required = requiredRuns();
  const missing = required.filter((run) => !titles.some((t) => covers(t, run.name, run.dir)));
  return { required: required.length, missing };
}
