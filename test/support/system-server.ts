// Real servers from Debian packages (etcd-server, redis-server, zookeeper) for the registry
// tests: found on PATH (or at the package's path), started on loopback on free ports with a
// temporary data directory, stopped after. Without the package a test skips with a loud
// notice, except under CI=true, where a missing server fails the run (.ci/run installs them).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

const BANNER = '!'.repeat(78);

/** The first of `candidates` that exists (absolute paths) or is on PATH (bare names); undefined if none. */
export function findBinary(candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    if (c.includes('/')) {
      if (existsSync(c)) return c;
      continue;
    }
    for (const dir of (process.env['PATH'] ?? '').split(':')) {
      if (dir !== '' && existsSync(join(dir, c))) return join(dir, c);
    }
  }
  return undefined;
}

/**
 * Call first in a test that needs a system server. Returns the binary's path, or: under
 * `CI=true` throws; elsewhere prints a loud notice, marks the test skipped and returns undefined
 * (the caller returns).
 */
export function requireSystemBinary(t: TestContext, what: string, debianPackage: string, candidates: readonly string[]): string | undefined {
  const found = findBinary(candidates);
  if (found !== undefined) return found;
  const msg = `${what} not found (Debian package ${debianPackage}): SKIPPING "${t.name}"`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} is not allowed under CI=true (.ci/run installs ${debianPackage})`);
  console.warn(`${BANNER}\n${msg}.\nInstall it with: apt-get install -y ${debianPackage}\n${BANNER}`);
  t.skip(`${what} not installed`);
  return undefined;
}

/** A free loopback TCP port (bound and released; the OS does not hand it out again at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A new temporary directory; removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A started server process with its output kept for failure messages. */
export interface SystemProcess {
  proc: ChildProcess;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM (or `signal`), then waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Spawns `bin args`, keeping stdout+stderr (the last 64 KiB) for diagnostics. */
export function spawnSystem(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): SystemProcess {
  const proc = spawn(bin, [...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 65536) out = out.slice(-65536);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.once('error', () => resolve(null));
  });
  return {
    proc,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Polls `probe` until it resolves true (every `everyMs`, at most `timeoutMs`); throws with
 * `describe()` on timeout. For waiting on a condition — a port that answers, a registry key —
 * never a fixed sleep.
 */
export async function waitFor(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000, everyMs = 50, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
