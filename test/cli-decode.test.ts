// `rpcx decode` (src/cli/decode.ts) as a child process on the golden vectors written by Go's
// encoder (interop/vectors): every frame of every file piped in as hex in one run, each output
// line checked field by field against the vector's fields, its layout checked to tile the frame;
// hex arguments, a binary --file and the bytes on stdin; bad frames exit 1 naming field and offset.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVectors, type Vector } from './support/vectors.js';
import { repoRoot } from './support/go.js';
import { tsCli } from './support/peer.js';

function decode(args: string[], input?: string | Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tsCli, 'decode', ...args], { cwd: repoRoot, input: input ?? '', encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FIELDS = ['frame', 'offset', 'length', 'magic', 'version', 'messageType', 'heartbeat', 'oneway', 'compressType', 'messageStatusType', 'serializeType', 'seq', 'totalLength', 'servicePath', 'serviceMethod', 'metadata', 'payloadLength', 'wirePayloadLength', 'payload', 'layout'];
const LAYOUT = ['magic', 'version', 'flags (messageType, heartbeat, oneway, compressType, messageStatusType)', 'serializeType (high nibble)', 'seq', 'totalLength', 'servicePathLength', 'servicePath', 'serviceMethodLength', 'serviceMethod', 'metadataLength', 'metadata', 'payloadLength', 'payload'];

it('decode names every field of every golden vector, as Go encoded it', () => {
  const all = loadVectors();
  const byFile = new Map<string, Vector[]>();
  for (const v of all) byFile.set(v.file, [...(byFile.get(v.file) ?? []), v]);
  assert.ok(byFile.size >= 7);
  for (const [file, vectors] of byFile) {
    const r = decode([], vectors.map((v) => v.hex).join('\n'));
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
    assert.equal(r.stderr, '', file);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, vectors.length, file);
    let offset = 0;
    vectors.forEach((v, i) => {
      const line = lines[i]!;
      const d = JSON.parse(line) as Record<string, unknown>;
      const f = v.fields;
      const where = `${v.name} (${file})`;
      for (const k of FIELDS) assert.ok(k in d, `${where}: no ${k}`);
      assert.equal(d.frame, i, where);
      assert.equal(d.offset, offset, where);
      assert.equal(d.length, v.hex.length / 2, where);
      offset += v.hex.length / 2;
      assert.equal(d.magic, 8, where);
      for (const k of ['version', 'messageType', 'heartbeat', 'oneway', 'compressType', 'messageStatusType', 'serializeType', 'payloadLength', 'wirePayloadLength'] as const) {
        assert.equal(d[k], f[k], `${where}: ${k}`);
      }
      // seq may pass 2^53: read it from the text, not through JSON.parse.
      assert.equal(/"seq":(\d+)/.exec(line)?.[1], f.seq, `${where}: seq`);
      if (f.servicePath !== undefined) assert.equal(d.servicePath, f.servicePath, `${where}: servicePath`);
      if (f.serviceMethod !== undefined) assert.equal(d.serviceMethod, f.serviceMethod, `${where}: serviceMethod`);
      const layout = d.layout as Array<{ field: string; offset: number; length: number; hex?: string }>;
      assert.deepEqual(layout.map((e) => e.field), LAYOUT, where);
      let p = d.offset as number;
      for (const e of layout) {
        assert.equal(e.offset, p, `${where}: ${e.field} offset`);
        p += e.length;
      }
      assert.equal(p, (d.offset as number) + (d.length as number), `${where}: the layout covers the frame`);
      assert.equal(layout.find((e) => e.field === 'servicePath')!.length, f.servicePathHex.length / 2, where);
      if (layout[7]!.hex !== undefined) assert.equal(layout[7]!.hex, f.servicePathHex, where);
      // Vector metadata is hex pairs; compare those that are valid UTF-8 (what JSON can show exactly).
      const text = (h: string): string | undefined => {
        const s = Buffer.from(h, 'hex').toString('utf8');
        return Buffer.from(s, 'utf8').toString('hex') === h ? s : undefined;
      };
      const meta = f.metadata.map(([k, x]) => [text(k), text(x)] as const);
      if (meta.every(([k, x]) => k !== undefined && x !== undefined)) {
        assert.deepEqual(Object.entries(d.metadata as Record<string, string>).sort(), [...new Map(meta as Array<[string, string]>)].sort(), `${where}: metadata`);
      } else {
        assert.equal(Object.keys(d.metadata as object).length, new Set(f.metadata.map(([k]) => k)).size, `${where}: metadata entries`);
      }
      // Raw payloads print as base64 of the (decompressed) bytes.
      if (f.serializeType === 0 && f.payloadHex !== undefined) assert.equal(Buffer.from(d.payload as string, 'base64').toString('hex'), f.payloadHex, `${where}: payload`);
    });
  }
});

it('decode reads hex arguments, a binary --file and raw bytes on stdin alike; JSON and msgpack payloads decode to values', () => {
  const v = loadVectors().find((x) => x.name === 'codec/json/arith_args')!;
  const m = loadVectors().find((x) => x.name === 'codec/msgpack/arith_args')!;
  const fromArgs = decode([v.hex, m.hex]);
  assert.equal(fromArgs.status, 0, fromArgs.stderr);
  const lines = fromArgs.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.serializeTypeName, 'JSON');
  assert.equal(lines[1]!.serializeTypeName, 'MsgPack');
  assert.deepEqual(lines[0]!.payload, { A: 10, B: 20 });
  assert.deepEqual(lines[1]!.payload, { A: 10, B: 20 });
  assert.match(JSON.stringify(v.value!.canonical), /"A",\{"\$int":"10"/);
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-decode-'));
  try {
    const file = join(dir, 'frames.bin');
    writeFileSync(file, Buffer.from(v.hex + m.hex, 'hex'));
    assert.equal(decode(['--file', file]).stdout, fromArgs.stdout);
    assert.equal(decode([], Buffer.from(v.hex + m.hex, 'hex')).stdout, fromArgs.stdout);
    assert.equal(decode([], `0x${v.hex}\n${m.hex.replace(/(..)/g, '$1 ')}\n`).stdout, fromArgs.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('decode --proto --type decodes protobuf payloads (int64 extremes exact); without them they stay base64', () => {
  const v = loadVectors().find((x) => x.name === 'codec/protobuf/pb_arith_args_extremes')!;
  const proto = join(repoRoot, 'interop', 'proto', 'arith.proto');
  const r = decode([v.hex, '--proto', proto, '--type', 'rpcx.interop.ArithArgs']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"serializeTypeName":"ProtoBuffer"/);
  assert.match(r.stdout, /"payload":\{"A":9223372036854775807,"B":-9223372036854775808\}/);
  const plain = decode([v.hex]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(Buffer.from((JSON.parse(plain.stdout) as { payload: string }).payload, 'base64').toString('hex'), v.fields.payloadHex);
});

it('decode: a bad frame exits 1 with an error naming the field and the offset; the frames before it are printed', () => {
  const good = loadVectors().find((x) => x.name === 'codec/json/arith_args')!.hex;
  const n = good.length / 2;
  const cases: Array<[string, RegExp]> = [
    ['09' + good.slice(2), /^rpcx: bad frame 0: wrong magic number: 9 \(field magic, offset 0\)\n$/],
    [good + '0800', /^rpcx: bad frame 1: truncated frame: 2 bytes left, the header and totalLength need 16 \(field header, offset \d+\)\n$/],
    [good + good.slice(0, -2), new RegExp(`^rpcx: bad frame 1: truncated frame: totalLength \\d+ needs \\d+ bytes, \\d+ left \\(field totalLength, offset ${n + 12}\\)\\n$`)],
    // servicePath length 0xffffffff: runs past the end.
    [good.slice(0, 32) + 'ffffffff' + good.slice(40), /^rpcx: bad frame 0: servicePath length 4294967295 runs past the frame end \(field servicePath, offset 16\)\n$/],
    // gzip flag on a payload that is not gzip.
    [good.slice(0, 4) + '04' + good.slice(6), /^rpcx: bad frame 0: .*/],
  ];
  for (const [hex, re] of cases) {
    const r = decode([hex]);
    assert.equal(r.status, 1, `${hex}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n {4}at /);
  }
  const afterGood = decode([good + '0800']);
  assert.equal(afterGood.stdout.trimEnd().split('\n').length, 1, 'the good frame before the bad one is printed');
  const notHex = decode(['08zz']);
  assert.equal(notHex.status, 1);
  assert.match(notHex.stderr, /^rpcx: INVALID_ARGUMENT: the argument is not hex: "z" at hex digit 2\n$/);
});
