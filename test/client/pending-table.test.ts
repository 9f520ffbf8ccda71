// PendingTable (src/client/pending-table.ts) against a plain Map as the reference: random
// interleavings of sets and takes with the key patterns a client produces (seqs in order, some
// calls pending for a long time, caller-chosen seqs from sendRaw up to 2^64 - 1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingTable } from '../../src/client/pending-table.js';
import { prng as rng } from '../support/splits.js';

interface E {
  key: number | bigint;
  n: number;
}

function check(t: PendingTable<E>, ref: Map<number | bigint, E>): void {
  assert.equal(t.size, ref.size);
  const got = t.values().map((e) => e.n).sort((a, b) => a - b);
  const want = [...ref.values()].map((e) => e.n).sort((a, b) => a - b);
  assert.deepEqual(got, want);
}

describe('PendingTable', () => {
  it('matches a Map over random interleavings (seqs in order, long-pending entries, wide keys)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const t = new PendingTable<E>();
      const ref = new Map<number | bigint, E>();
      let seq = 0;
      let n = 0;
      for (let step = 0; step < 3_000; step++) {
        const x = r();
        if (x < 0.5) {
          // the next seq; now and then a jump, as after many oneway sends
          if (r() < 0.02) seq += Math.floor(r() * 5_000);
          const e = { key: seq++, n: n++ };
          t.set(e);
          ref.set(e.key, e);
        } else if (x < 0.53) {
          // a caller's seq: beyond 2^53 (bigint) or a number far ahead
          const key = r() < 0.5 ? 2n ** 53n + BigInt(Math.floor(r() * 1e6)) : 1e9 + Math.floor(r() * 1e6);
          if (ref.has(key)) continue;
          const e = { key, n: n++ };
          t.set(e);
          ref.set(key, e);
        } else if (ref.size > 0) {
          // take the newest most of the time; sometimes an old one (an out-of-order reply)
          const keys = [...ref.keys()];
          const k = r() < 0.7 ? keys[keys.length - 1 - Math.floor(r() * Math.min(8, keys.length))]! : keys[Math.floor(r() * keys.length)]!;
          assert.equal(t.take(k), ref.get(k), `seed ${seed} step ${step} key ${k}`);
          ref.delete(k);
        }
        // a key never stored, or already taken, is not found
        assert.equal(t.get(seq + 7), undefined);
        if (step % 500 === 0) check(t, ref);
      }
      check(t, ref);
      for (const [k, e] of ref) assert.equal(t.get(k), e);
      for (const k of [...ref.keys()]) assert.equal(t.take(k), ref.get(k));
      assert.equal(t.size, 0);
      assert.deepEqual(t.values(), []);
    }
  });

  it('keeps an entry that stays pending while thousands of later seqs come and go', () => {
    const t = new PendingTable<E>();
    const old = { key: 3, n: -1 };
    t.set(old);
    for (let k = 4; k < 20_000; k++) {
      t.set({ key: k, n: k });
      assert.equal(t.take(k)?.n, k);
    }
    assert.equal(t.get(3), old);
    assert.equal(t.size, 1);
    assert.equal(t.take(3), old);
    assert.equal(t.take(3), undefined);
  });

  it('refuses a key that is already in the table', () => {
    const t = new PendingTable<E>();
    t.set({ key: 5, n: 1 });
    assert.throws(() => t.set({ key: 5, n: 2 }), /already in the table/);
    t.set({ key: 2n ** 60n, n: 3 });
    assert.throws(() => t.set({ key: 2n ** 60n, n: 4 }), /already in the table/);
    assert.equal(t.size, 2);
    assert.equal(t.get(5)?.n, 1);
  });

  it('holds 100,000 entries pending at once and empties', () => {
    const t = new PendingTable<E>();
    for (let k = 0; k < 100_000; k++) t.set({ key: k, n: k });
    assert.equal(t.size, 100_000);
    for (let k = 99_999; k >= 0; k -= 2) assert.equal(t.take(k)?.n, k);
    for (let k = 0; k < 100_000; k += 2) assert.equal(t.take(k)?.n, k);
    assert.equal(t.size, 0);
    t.set({ key: 100_000, n: 0 });
    assert.equal(t.get(100_000)?.n, 0);
  });
});
