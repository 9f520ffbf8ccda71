// The server peer of an interop direction, as a child process: the Go rpcx server
// (interop/go/cmd/server) for TG, the TS `rpcx serve` CLI (src/cli/rpcx.ts, the demo services)
// for TT. Both print `listening <key>` first and take the same options, given here in one neutral
// form and translated to each program's flags, so one test body runs against either.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { goReady } from './tg.js';
import { repoRoot, requireGo } from './go.js';
import { startGoServer, startServerProcess, type ServerProcess } from './go-server.js';
import { runsIn, type Direction } from './cases.js';

export type PeerKind = 'go' | 'ts';

/** The directions a TS client test runs in (GT has its own suite: test/server/go-client.test.ts). */
export type ClientDirection = Extract<Direction, 'TG' | 'TT'>;

/** A running server peer: `{ address, proc, exited, kill(signal), stderr() }`. */
export type PeerServer = ServerProcess;

/** Server options in one neutral form. */
export interface PeerOptions {
  /** `host:port` to listen on (default `127.0.0.1:0`); for `unixPath` see below. */
  addr?: string;
  /** Listen on this unix socket path instead of TCP. */
  unixPath?: string;
  /** Accept only this `__AUTH` token. */
  auth?: string;
  /** Close a connection idle this long. */
  readTimeoutMs?: number;
  /** Largest frame body (`totalLen`); bigger frames close the connection. */
  maxMessageLength?: number;
  /** Serve TLS with these PEM files. */
  tls?: { cert: string; key: string };
  /** Exit with code 3 right after reading the Nth non-heartbeat request, before handling it. */
  exitAfter?: number;
  /** Graceful shutdown limit on SIGTERM/SIGINT. */
  shutdownTimeoutMs?: number;
}

/** The TS CLI, built by `npm run build` (as the tests are). */
export const tsCli: string = join(repoRoot, 'build', 'src', 'cli', 'rpcx.js');

/** The peer of a client direction: TG talks to Go, TT to TS. */
export function peerOf(dir: ClientDirection): PeerKind {
  return dir === 'TG' ? 'go' : 'ts';
}

/** `Go` or `TS`, for test and suite names. */
export function peerName(kind: PeerKind): string {
  return kind === 'go' ? 'Go' : 'TS';
}

/** The command-line flags of `kind` for `opts`. */
export function peerArgs(kind: PeerKind, opts: PeerOptions = {}): string[] {
  const a: string[] = [];
  if (kind === 'go') {
    if (opts.unixPath !== undefined) a.push('-network', 'unix', '-addr', opts.unixPath);
    else if (opts.addr !== undefined) a.push('-addr', opts.addr);
    if (opts.auth !== undefined) a.push('-auth', opts.auth);
    if (opts.readTimeoutMs !== undefined) a.push('-read-timeout', `${opts.readTimeoutMs}ms`);
    if (opts.maxMessageLength !== undefined) a.push('-max-message-length', String(opts.maxMessageLength));
    if (opts.tls !== undefined) a.push('-tls-cert', opts.tls.cert, '-tls-key', opts.tls.key);
    if (opts.exitAfter !== undefined) a.push('-exit-after', String(opts.exitAfter));
    if (opts.shutdownTimeoutMs !== undefined) a.push('-shutdown-timeout', `${opts.shutdownTimeoutMs}ms`);
    return a;
  }
  a.push('serve', '--quiet');
  if (opts.unixPath !== undefined) a.push('--network', 'unix', '--addr', opts.unixPath);
  else a.push('--addr', opts.addr ?? '127.0.0.1:0');
  if (opts.auth !== undefined) a.push('--auth', opts.auth);
  if (opts.readTimeoutMs !== undefined) a.push('--read-timeout', String(opts.readTimeoutMs));
  // The Go peer's default is no limit (protocol.MaxMessageLength 0); the TS default is 64 MiB.
  a.push('--max-message-length', String(opts.maxMessageLength ?? 0));
  if (opts.tls !== undefined) a.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  if (opts.exitAfter !== undefined) a.push('--exit-after', String(opts.exitAfter));
  if (opts.shutdownTimeoutMs !== undefined) a.push('--shutdown-timeout', String(opts.shutdownTimeoutMs));
  return a;
}

/** Starts the `kind` server peer with `opts` on loopback and waits for its `listening` line. */
export function startPeerServer(kind: PeerKind, opts: PeerOptions = {}): Promise<PeerServer> {
  const args = peerArgs(kind, opts);
  if (kind === 'go') return startGoServer(args);
  return startServerProcess('TS server', process.execPath, [tsCli, ...args], repoRoot);
}

/** For `before` hooks, which set up quietly: whether the `kind` peer can run. */
export function peerReady(kind: PeerKind): boolean {
  return kind === 'go' ? goReady() : existsSync(tsCli);
}

/**
 * First call in a test: true when the peer can run. The Go peer may be missing (skipped loudly,
 * or a failure under CI=true: see requireGo); the TS peer never needs Go.
 */
export function requirePeer(t: TestContext, kind: PeerKind): boolean {
  if (kind === 'go') return requireGo(t, ['server']);
  if (!existsSync(tsCli)) throw new Error(`${tsCli} is missing: run npm run build`);
  return true;
}

/**
 * Declares the test `${dir} ${name}` when interop case `name` runs in `dir` (cases.ts, from
 * interop-cases.md); the body runs only when the peer is there.
 */
export function caseTest(dir: ClientDirection, name: string, fn: (t: TestContext) => Promise<void>, options: { timeout?: number } = {}): void {
  if (!runsIn(name, dir)) return;
  it(`${dir} ${name}`, options, async (t) => {
    if (!requirePeer(t, peerOf(dir))) return;
    await fn(t);
  });
}

/** Peer server processes a test suite starts, killed together in its `after` hook. */
export class TestPeers {
  private readonly servers: PeerServer[] = [];

  constructor(private readonly kind: PeerKind) {}

  /** Starts a peer server of this suite's kind and remembers it. */
  start = async (opts: PeerOptions = {}): Promise<PeerServer> => {
    const s = await startPeerServer(this.kind, opts);
    this.servers.push(s);
    return s;
  };

  /** Kills every server (SIGKILL, which also ends a SIGSTOPped process). */
  async killAll(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.kill()));
  }
}
