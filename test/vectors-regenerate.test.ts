// Regenerates the golden vectors with Go (interop/go/cmd/vectors) into a temporary folder and
// fails on any difference from the committed files, apart from what a vector marks volatile
// (time payloads, seqs of captured frames, Go's random metadata/map order).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goBinary, goDir, requireGo } from './support/go.js';
import { loadVectors, vectorsDir, type Vector } from './support/vectors.js';

function comparable(v: Vector): unknown {
  const vol = new Set(v.volatile ?? []);
  const fields: Record<string, unknown> = { ...v.fields };
  if (vol.has('payload')) {
    delete fields['payloadHex'];
    delete fields['payloadSha256'];
    delete fields['payloadLength'];
    delete fields['wirePayloadLength'];
  }
  if (vol.has('seq')) delete fields['seq'];
  const { hex, ...rest } = v;
  // a frame is compared byte for byte only when nothing in it is volatile
  return { ...rest, fields, hex: vol.size === 0 ? hex : `(${hex.length / 2} bytes, volatile)`, lengthIfOnlyOrder: vol.size === 1 && vol.has('metadataOrder') ? hex.length : undefined };
}

it('the committed vectors are what Go rpcx v1.9.4 generates now', { timeout: 120_000 }, (t) => {
  if (!requireGo(t, ['vectors'])) return;
  const out = mkdtempSync(join(tmpdir(), 'rpcx-vectors-'));
  try {
    const r = spawnSync(goBinary('vectors'), ['-out', out], { cwd: goDir, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, `vector generator failed: ${r.stderr}`);
    assert.deepEqual(readdirSync(out).sort(), readdirSync(vectorsDir).filter((f) => f.endsWith('.json')).sort(), 'same files');
    const fresh = new Map(loadVectors(out).map((v) => [v.name, v]));
    const committed = loadVectors();
    assert.deepEqual([...fresh.keys()].sort(), committed.map((v) => v.name).sort(), 'same vector names');
    for (const v of committed) {
      const f = fresh.get(v.name)!;
      assert.deepEqual(f.volatile ?? [], v.volatile ?? [], `${v.name}: volatile`);
      assert.deepEqual(comparable(f), comparable(v), `${v.name} differs from what Go generates now`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
