// The demo server embeds the interop .proto schemas (an installed package cannot read
// interop/proto at run time); they must stay the files the Go peer is generated from.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALLTYPES_PROTO, ARITH_PROTO, BENCHMARK_PROTO } from '../src/server/demo/schemas.js';
import { repoRoot } from './support/go.js';

it('the demo server embeds interop/proto/*.proto verbatim', () => {
  const file = (name: string): string => readFileSync(join(repoRoot, 'interop', 'proto', name), 'utf8');
  assert.equal(ARITH_PROTO, file('arith.proto'));
  assert.equal(BENCHMARK_PROTO, file('benchmark.proto'));
  assert.equal(ALLTYPES_PROTO, file('alltypes.proto'));
});
