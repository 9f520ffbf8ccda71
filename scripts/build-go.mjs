// Builds the Go interop programs (interop/go/cmd/*) into interop/go/bin before the tests run.
// Without Go: a loud notice and the Go interop tests skip, except under CI=true, where Go is
// mandatory and this fails the run.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const goDir = join(root, 'interop', 'go');
const ci = process.env.CI === 'true';

const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  const banner = '!'.repeat(78);
  if (ci) {
    console.error(`${banner}\nGo toolchain not found, and CI=true: the Go interop tests are mandatory.\n${banner}`);
    process.exit(1);
  }
  console.warn(`${banner}\nGo toolchain not found: the Go interop tests will be SKIPPED.\nInstall Go (https://go.dev/dl/) to run them; CI always does.\n${banner}`);
  process.exit(0);
}

const started = Date.now();
try {
  execFileSync('go', ['build', '-o', 'bin/', './cmd/...'], { cwd: goDir, stdio: 'inherit' });
} catch {
  console.error('go build of interop/go failed');
  process.exit(1);
}
console.log(`built interop/go/bin (${probe.stdout.trim()}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
