// Shared helpers of the TG interop tests (TS Client -> Go rpcx server peer).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { RpcxError } from '../../src/errors.js';
import { goAvailable, goBinaryPath } from './go.js';

/**
 * Whether the Go server peer can run: for `before` hooks, which set up quietly; each test then
 * calls `requireGo(t, ['server'])`, which reports the skip loudly (or fails under CI=true).
 */
export function goReady(): boolean {
  return existsSync(goBinaryPath('server')) || goAvailable();
}

/** Go `services.ArithArgs` / `ArithReply` (msgpack/JSON keys are the Go field names). */
export interface ArithArgs {
  A: number | bigint;
  B: number | bigint;
}
export interface ArithReply {
  C: number | bigint;
}

/** Go `services.SleepReply`. */
export interface SleepReply {
  HasDeadline: boolean;
  RemainingMs: number;
  SleptMs: number;
  Cancelled: boolean;
}

/** Go `services.PushArgs`. */
export interface PushArgs {
  Path: string;
  Method: string;
  Metadata: Record<string, string>;
  Payload: Uint8Array;
  Count: number;
  IntervalMs?: number;
  BeforeReply?: boolean;
}

/** The payload of push `i` of `Push.Start`: `prefix` then `i` as 8 bytes big-endian. */
export function pushPayload(prefix: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(prefix.length + 8);
  out.set(prefix, 0);
  new DataView(out.buffer).setBigUint64(prefix.length, BigInt(i));
  return out;
}

/** Reads the push index from the last 8 bytes of a push payload. */
export function pushIndex(payload: Uint8Array): number {
  return Number(new DataView(payload.buffer, payload.byteOffset, payload.length).getBigUint64(payload.length - 8));
}

/** Awaits `p`, failing the test with `what` if it takes longer than `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `p` rejects with an RpcxError of `code` and returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: string, what = 'call'): Promise<RpcxError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RpcxError, `${what}: expected an RpcxError, got ${String(err)}`);
    assert.equal(err.code, code, `${what}: expected code ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`${what}: expected a rejection with ${code}, but it resolved`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind :0, read the port, release it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until true; fails after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(10);
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
