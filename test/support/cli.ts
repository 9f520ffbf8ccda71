// Runs the `rpcx` command (build/src/cli/rpcx.js) as a child process for the CLI tests.
import { spawn } from 'node:child_process';
import { repoRoot } from './go.js';
import { tsCli } from './peer.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rpcx args...` as a child process (stdin empty, at most `timeoutMs`). */
export function rpcx(args: readonly string[], options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [tsCli, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`rpcx ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    p.once('exit', (status) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained: wait for 'close'.
      p.once('close', () => resolve({ status, stdout, stderr }));
      if (p.stdout.readableEnded && p.stderr.readableEnded) resolve({ status, stdout, stderr });
    });
  });
}
