// The latency reservoir of `rpcx bench` (src/cli/bench.ts): exact nearest-rank percentiles up to
// its capacity, a bounded uniform sample beyond it, min/max/mean over every value.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Reservoir } from '../src/cli/bench.js';

it('percentiles are exact (nearest rank) while the values fit', () => {
  const r = new Reservoir(1000);
  for (let i = 1000; i >= 1; i--) r.add(i);
  assert.deepEqual(r.percentiles([50, 90, 99, 99.9, 100]), [500, 900, 990, 999, 1000]);
  assert.equal(r.min, 1);
  assert.equal(r.max, 1000);
  assert.equal(r.sum / r.count, 500.5);
  assert.deepEqual(new Reservoir().percentiles([50]), [0], 'no values: 0');
});

it('beyond its capacity it keeps a bounded uniform sample; min, max and mean stay exact', () => {
  const r = new Reservoir(2000);
  for (let i = 1; i <= 200_000; i++) r.add(i);
  assert.equal(r.samples.length, 2000);
  assert.equal(r.count, 200_000);
  assert.equal(r.min, 1);
  assert.equal(r.max, 200_000);
  assert.equal(r.sum / r.count, 100_000.5);
  // A uniform sample of 1..200000: its median is near 100000 (the standard error is ~2,200 here).
  const [p50] = r.percentiles([50]);
  assert.ok(Math.abs(p50! - 100_000) < 15_000, `p50 ${p50}`);
});
