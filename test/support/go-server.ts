// Starts the Go rpcx server peer (interop/go/cmd/server) on a loopback port for a test; and, in
// general, any server program that prints `listening <key>` as its first stdout line (the TS
// `rpcx serve` too: see peer.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { goBinary, goDir } from './go.js';

/** A server peer running as a child process. */
export interface ServerProcess {
  /** The rpcx key, e.g. `tcp@127.0.0.1:40123`. */
  address: string;
  proc: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /**
   * SIGSTOP, then waits (max 2 s) until the kernel reports the process stopped: `kill()` returns
   * before delivery on some kernels and sandboxes, and a server that still runs for a few
   * milliseconds answers the request a test meant to leave unanswered.
   */
  freeze(): Promise<void>;
}

/** The state letter of `/proc/<pid>/stat` ('T' stopped), or undefined where there is no /proc. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** The Go server peer process. */
export type GoServer = ServerProcess;

/** Starts `interop/go/bin/server` with `args` and waits for its `listening <key>` line (max 20 s). */
export async function startGoServer(args: readonly string[] = []): Promise<GoServer> {
  return startServerProcess('Go server', goBinary('server'), args, goDir);
}

/**
 * Spawns `command args` in `cwd` and waits (max 20 s) for its first stdout line, which must be
 * `listening <key>`. `label` names the program in errors.
 */
export async function startServerProcess(label: string, command: string, args: readonly string[], cwd: string): Promise<ServerProcess> {
  const proc = spawn(command, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    err += d;
    if (err.length > 1_000_000) err = err.slice(-500_000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const rl = createInterface({ input: proc.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 20 s: ${err}`)), 20_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line from ${label}: ${line}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before listening: ${err}`));
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
    freeze: async () => {
      proc.kill('SIGSTOP');
      const pid = proc.pid!;
      for (let i = 0; i < 200; i++) {
        const st = procState(pid);
        if (st === undefined) return void (await new Promise((r) => setTimeout(r, 50)));
        if (st === 'T' || st === 't') return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`${label} (pid ${pid}) did not stop within 2 s of SIGSTOP`);
    },
  };
}
