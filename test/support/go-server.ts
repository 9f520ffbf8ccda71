// Starts the Go rpcx server peer (interop/go/cmd/server) on a loopback port for a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { goBinary, goDir } from './go.js';

export interface GoServer {
  /** The rpcx key, e.g. `tcp@127.0.0.1:40123`. */
  address: string;
  proc: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
}

/** Starts `interop/go/bin/server` with `args` and waits for its `listening <key>` line (max 20 s). */
export async function startGoServer(args: readonly string[] = []): Promise<GoServer> {
  const proc = spawn(goBinary('server'), [...args], { cwd: goDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    err += d;
    if (err.length > 1_000_000) err = err.slice(-500_000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const rl = createInterface({ input: proc.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Go server did not start within 20 s: ${err}`)), 20_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line from Go server: ${line}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Go server exited with ${code} before listening: ${err}`));
    });
  });
  return {
    address,
    proc,
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (signal !== 'SIGKILL' && proc.signalCode === null) proc.kill('SIGCONT');
        proc.kill(signal);
      }
      return exited;
    },
    stderr: () => err,
  };
}
