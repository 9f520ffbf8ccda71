// Helpers for tests that run the Go interop programs in interop/go (built into interop/go/bin).
// Without a Go toolchain and without a prebuilt binary, Go tests skip with a loud notice,
// except under CI=true, where Go interop is mandatory and a missing Go fails the test.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from build/test/support/). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** interop/go, the Go module with the interop programs. */
export const goDir: string = join(repoRoot, 'interop', 'go');

let goProbe: boolean | undefined;

/** True when a `go` toolchain can be run. */
export function goAvailable(): boolean {
  if (goProbe === undefined) {
    const r = spawnSync('go', ['version'], { encoding: 'utf8' });
    goProbe = r.error === undefined && r.status === 0;
  }
  return goProbe;
}

/** The path of interop/go/bin/<name>, without building it. */
export function goBinaryPath(name: string): string {
  return join(goDir, 'bin', process.platform === 'win32' ? `${name}.exe` : name);
}

/**
 * The path of interop/go/bin/<name>; builds it (`go build -o bin/ ./cmd/<name>`) when it is
 * missing. Throws when it is missing and cannot be built.
 */
export function goBinary(name: string): string {
  const path = goBinaryPath(name);
  if (existsSync(path)) return path;
  if (!goAvailable()) throw new Error(`interop/go/bin/${name} is missing and no Go toolchain is installed`);
  const r = spawnSync('go', ['build', '-o', 'bin/', `./cmd/${name}`], { cwd: goDir, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(path)) {
    throw new Error(`go build ./cmd/${name} failed:\n${r.stderr ?? ''}${r.error?.message ?? ''}`);
  }
  return path;
}

const BANNER = '!'.repeat(78);

/**
 * Call first in a test that needs Go. Returns true when Go (or the prebuilt `binaries`) is
 * there. Otherwise: under `CI=true` it throws (Go interop is mandatory in CI); elsewhere it
 * prints a loud warning, marks the test skipped with `t.skip` and returns false — the caller
 * must then return: `if (!requireGo(t, ['codeccheck'])) return;`.
 */
export function requireGo(t: TestContext, binaries: readonly string[] = []): boolean {
  const prebuilt = binaries.length > 0 && binaries.every((b) => existsSync(goBinaryPath(b)));
  if (prebuilt || goAvailable()) return true;
  const what = `Go toolchain not found: SKIPPING Go interop test "${t.name}"`;
  if (process.env['CI'] === 'true') {
    throw new Error(`${what} is not allowed under CI=true (Go interop is mandatory in CI)`);
  }
  console.warn(`${BANNER}\n${what}.\nInstall Go (https://go.dev/dl/) to run it; CI always does.\n${BANNER}`);
  t.skip('Go toolchain not found');
  return false;
}

/**
 * Runs a Go program that reads JSON lines on stdin and answers one JSON line per input line
 * (e.g. `codeccheck`), feeding it `inputs` and returning the parsed answers in order.
 */
export async function goJsonLines<T = Record<string, unknown>>(
  name: string,
  inputs: readonly unknown[],
  args: readonly string[] = [],
): Promise<T[]> {
  const child = spawn(goBinary(name), [...args], { cwd: goDir, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  const out: T[] = [];
  const lines = createInterface({ input: child.stdout });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${name} exited with ${code}: ${stderr}`));
    });
  });
  const read = (async () => {
    for await (const line of lines) if (line.trim() !== '') out.push(JSON.parse(line) as T);
  })();
  child.stdin.end(inputs.map((i) => JSON.stringify(i)).join('\n') + '\n');
  await Promise.all([done, read]);
  if (out.length !== inputs.length) {
    throw new Error(`${name} answered ${out.length} lines for ${inputs.length} inputs: ${stderr}`);
  }
  return out;
}

/** One line of a Go case runner (`cmd/client`, `cmd/streamclient`): a named case and its outcome. */
export interface GoCaseResult {
  case: string;
  ok: boolean;
  ms?: number;
  skipped?: string;
  error?: string;
  [k: string]: unknown;
}

/**
 * Runs the Go case runner `program` (interop/go/bin/<program>) with `args` and `-timeout`, and
 * returns its JSON result lines; fails (with its stderr) unless it exits 0. `onStderrLine` sees
 * each stderr line as it comes (e.g. INFLIGHT markers).
 */
export async function runGoCases(program: string, args: readonly string[], options: { timeout?: string; onStderrLine?: (line: string) => void } = {}): Promise<GoCaseResult[]> {
  const child = spawn(goBinary(program), [...args, '-timeout', options.timeout ?? '25s'], { cwd: goDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr += line + '\n';
    options.onStderrLine?.(line);
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const results: GoCaseResult[] = [];
  for await (const line of createInterface({ input: child.stdout })) if (line.trim() !== '') results.push(JSON.parse(line) as GoCaseResult);
  const code = await closed;
  if (code !== 0) throw new Error(`${program} exited with ${code}: ${stderr}`);
  return results;
}
