import { it } from 'node:test';
import assert from 'node:assert/strict';
import { loadVectors } from '../support/vectors.js';
import { fuzzFrames } from '../fuzz/frame-fuzz.js';

it('decoder fuzz (bounded): only RpcxError escapes, nothing hangs, buffering stays under the limit', () => {
  const corpus = loadVectors().map((v) => Buffer.from(v.hex, 'hex'));
  const stats = fuzzFrames(corpus, 0xc0ffee, 20_000, 4_000);
  assert.ok(stats.iterations >= 1000, `only ${stats.iterations} iterations`);
  assert.ok(stats.messages > 0, 'some frames decode');
  assert.ok(stats.errors.size >= 4, `error kinds seen: ${[...stats.errors.keys()].join(', ')}`);
});
