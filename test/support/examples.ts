// Runs an example as a user runs it (`node build/examples/<name>.js ...`), bounded in time.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './go.js';

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout, trimmed, split into lines. */
  lines: string[];
}

/** Runs `build/examples/<name>.js` with `args`; rejects (after killing it) if it runs past `timeoutMs`. */
export function runExample(name: string, args: string[] = [], timeoutMs = 20_000): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'build', 'examples', `${name}.js`), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example ${name} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines: stdout.trim().split('\n') });
    });
  });
}
