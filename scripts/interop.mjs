// npm run interop -- CASE [CASE...] [--dir TG|GT|TT]: runs the named interop cases
// (shared/interop-cases.md) in every direction that applies, or in the one given. It runs the test
// files of npm test (scripts/test.mjs) with a name filter, so only the named tests run.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let dir = '(TG|GT|TT)';
const cases = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dir') dir = args[++i];
  else cases.push(args[i]);
}
if (cases.length === 0) {
  console.error('usage: npm run interop -- CASE [CASE...] [--dir TG|GT|TT]');
  process.exit(2);
}
const pattern = `^${dir} (${cases.join('|')})$`;
console.log(`running tests named /${pattern}/`);
const testScript = new URL('test.mjs', import.meta.url).pathname;
const r = spawnSync(process.execPath, [testScript, `--test-name-pattern=${pattern}`], { stdio: 'inherit' });
process.exit(r.status ?? 1);
