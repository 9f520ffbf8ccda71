// Unit tests of the XClient selectors, Go's %v, url.ParseQuery and filtering (no Go needed;
// agreement with Go's own selectors is in xclient-go.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConsistentHashSelector,
  DoubleJump,
  GeoSelector,
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
  calculateWeight,
  consistentHashKey,
  filterByStateAndGroup,
  geoDistance,
  hashString,
  jumpHash,
  parseQuery,
} from '../../src/client/selectors.js';
import { WeightedRttSelector } from '../../src/client/rtt.js';
import { goFloat, goSprintV } from '../../src/client/gofmt.js';

const m = (...entries: [string, string][]): Map<string, string> => new Map(entries);

test('goSprintV renders common Go shapes like fmt %v', () => {
  assert.equal(goSprintV({ A: 10, B: 20 }), '{10 20}');
  assert.equal(goSprintV({ A: 10, B: 20 }, { pointer: true }), '&{10 20}');
  assert.equal(goSprintV('plain text'), 'plain text');
  assert.equal(goSprintV(42), '42');
  assert.equal(goSprintV(-7n), '-7');
  assert.equal(goSprintV(null), '<nil>');
  assert.equal(goSprintV(undefined), '<nil>');
  assert.equal(goSprintV(true), 'true');
  assert.equal(goSprintV(new Uint8Array([1, 2, 255])), '[1 2 255]');
  assert.equal(goSprintV([1, 'a', [2]]), '[1 a [2]]');
  assert.equal(goSprintV(new Map([['b', 2], ['a', 1]])), 'map[a:1 b:2]');
  assert.equal(goSprintV(new Map([[10, 'x'], [-1, 'y'], [3, 'z']])), 'map[-1:y 3:z 10:x]');
  assert.equal(goSprintV({ Name: 'n', In: { A: 1, B: 2 }, Tags: [], M: new Map() }), '{n {1 2} [] map[]}');
});

test('goFloat is strconv shortest %g', () => {
  const cases: [number, string][] = [
    [0.5, '0.5'],
    [1e6 + 0.5, '1.0000005e+06'],
    [123456.5, '123456.5'],
    [1.5e-5, '1.5e-05'],
    [0.0001, '0.0001'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [-2.25, '-2.25'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
    [5e-324, '5e-324'],
  ];
  for (const [f, s] of cases) assert.equal(goFloat(f), s, String(f));
});

test('FNV-1a 64 and jump hash match their reference values', () => {
  assert.equal(hashString(''), 0xcbf29ce484222325n);
  assert.equal(hashString('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(hashString('foobar'), 0x85944171f73967e8n);
  // values printed by Go's client.Hash (the same algorithm as go-jump)
  const golden: [bigint, number, number][] = [
    [1n, 128, 55],
    [10n, 128, 73],
    [0xdeadbeefn, 128, 87],
    [0xdeadbeefn, 1, 0],
    [12345678901234567n, 7, 5],
  ];
  for (const [k, n, want] of golden) assert.equal(jumpHash(k, n), want, `${k} ${n}`);
  for (let n = 1; n < 50; n++) {
    const b = jumpHash(12345678901234567n, n);
    assert.ok(b >= 0 && b < n);
  }
});

test('consistentHashKey hashes Go genKey string', () => {
  assert.equal(consistentHashKey('Arith', 'Mul', { A: 1, B: 2 }), hashString('/Arith/Mul/{1 2}'));
  assert.equal(consistentHashKey('Arith', 'Mul', { A: 1, B: 2 }, { pointer: true }), hashString('/Arith/Mul/&{1 2}'));
});

test('DoubleJump: removal only moves the keys of the removed node; re-add reuses the slot', () => {
  const h = new DoubleJump();
  for (const s of ['a', 'b', 'c', 'd']) h.add(s);
  const keys = Array.from({ length: 2000 }, (_, i) => hashString(`k${i}`));
  const before = keys.map((k) => h.get(k));
  assert.deepEqual(new Set(before), new Set(['a', 'b', 'c', 'd']));
  h.remove('b');
  const after = keys.map((k) => h.get(k));
  for (let i = 0; i < keys.length; i++) {
    if (before[i] !== 'b') assert.equal(after[i], before[i]);
    else assert.notEqual(after[i], 'b');
  }
  assert.deepEqual(h.all(), ['a', 'd', 'c']);
  h.add('e'); // takes b's loose slot
  const again = keys.map((k) => h.get(k));
  for (let i = 0; i < keys.length; i++) assert.equal(again[i], before[i] === 'b' ? 'e' : before[i]);
});

test('ConsistentHashSelector: same args same server; update adds then removes like Go', () => {
  const s = new ConsistentHashSelector(m(['tcp@a:1', ''], ['tcp@b:2', ''], ['tcp@c:3', '']));
  const pick = s.select('Arith', 'Mul', { A: 1, B: 2 });
  for (let i = 0; i < 10; i++) assert.equal(s.select('Arith', 'Mul', { A: 1, B: 2 }), pick);
  assert.deepEqual(s.nodes(), ['tcp@a:1', 'tcp@b:2', 'tcp@c:3']);
  s.updateServer(m(['tcp@a:1', ''], ['tcp@c:3', ''], ['tcp@d:4', '']));
  // compact list: d appended, then b removed by swapping the last in
  assert.deepEqual(s.nodes(), ['tcp@a:1', 'tcp@d:4', 'tcp@c:3']);
  assert.equal(new ConsistentHashSelector(new Map()).select('A', 'B', 1), '');
  const custom = new ConsistentHashSelector(m(['x', ''], ['y', '']), () => 'fixed');
  assert.equal(custom.select('A', 'B', 1), custom.select('C', 'D', 2));
});

test('RandomSelector and RoundRobinSelector', () => {
  const servers = m(['a', ''], ['b', ''], ['c', '']);
  const r = new RandomSelector(servers);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(r.select());
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  assert.equal(new RandomSelector(new Map()).select(), '');
  const rr = new RoundRobinSelector(servers);
  assert.deepEqual(Array.from({ length: 5 }, () => rr.select()), ['a', 'b', 'c', 'a', 'b']);
  rr.updateServer(m(['x', ''], ['y', '']));
  // Go keeps the counter: i was 2, so 2 % 2 = 0
  assert.equal(rr.select(), 'x');
});

test('WeightedRoundRobinSelector: Go ring for weights 1,2,3 and weight parsing', () => {
  const s = new WeightedRoundRobinSelector(m(['a', 'weight=1'], ['b', 'weight=2'], ['c', 'weight=3']));
  // the sequence Go printed for this order (interop/go/cmd/hashcheck)
  const seq = Array.from({ length: 12 }, () => s.select());
  assert.deepEqual(seq, ['c', 'b', 'a', 'c', 'b', 'c', 'c', 'b', 'a', 'c', 'b', 'c']);
  const d = new WeightedRoundRobinSelector(m(['a', 'weight=x'], ['b', ''], ['c', 'weight=2;bad']));
  assert.deepEqual(
    Array.from({ length: 3 }, () => d.select()),
    ['a', 'b', 'c'],
  );
  assert.equal(new WeightedRoundRobinSelector(m(['a', 'weight=0'])).select(), '');
  const one = new WeightedRoundRobinSelector(m(['a', 'weight=3']));
  assert.deepEqual([one.select(), one.select(), one.select(), one.select()], ['a', 'a', 'a', 'a']);
});

test('calculateWeight is Go CalculateWeight', () => {
  assert.equal(calculateWeight(0), 191);
  assert.equal(calculateWeight(10), 191);
  assert.equal(calculateWeight(11), 190);
  assert.equal(calculateWeight(200), 1);
  assert.equal(calculateWeight(201), 1);
  assert.equal(calculateWeight(999), 1);
  assert.equal(calculateWeight(1000), 0);
  assert.equal(calculateWeight(-1), 0);
});

test('WeightedRttSelector weights servers by probed round trip', async () => {
  const rtts: Record<string, number> = { fast: 1, mid: 150, down: 5000 };
  const s = new WeightedRttSelector(m(['fast', ''], ['mid', ''], ['down', '']), async (k) => rtts[k]!);
  await s.ready;
  assert.deepEqual(Object.fromEntries(s.weights), { fast: 191, mid: 51, down: 0 });
  const counts = new Map<string, number>();
  for (let i = 0; i < 242; i++) counts.set(s.select(), (counts.get(s.select()) ?? 0) + 1);
  assert.equal(counts.get('down'), undefined);
  const failing = new WeightedRttSelector(m(['x', '']), async () => {
    throw new Error('unreachable');
  });
  await failing.ready;
  assert.equal(failing.select(), '');
});

test('GeoSelector picks the nearest server with coordinates', () => {
  const s = new GeoSelector(
    m(
      ['beijing', 'latitude=39.9042&longitude=116.4074'],
      ['shanghai', 'latitude=31.2304&longitude=121.4737'],
      ['nowhere', 'weight=1'],
    ),
    31.0,
    121.0,
  );
  assert.equal(s.select(), 'shanghai');
  s.updateServer(m(['beijing', 'latitude=39.9042&longitude=116.4074']));
  assert.equal(s.select(), 'beijing');
  assert.ok(Math.abs(geoDistance(0, 0, 0, 1) - 111_319.5) < 1);
});

test('parseQuery is url.ParseQuery', () => {
  const q = parseQuery('weight=10&group=a&group=b+c&x=%41');
  assert.equal(q.error, false);
  assert.deepEqual(Object.fromEntries(q.values), { weight: ['10'], group: ['a', 'b c'], x: ['A'] });
  assert.equal(parseQuery('a=1;b=2').error, true);
  assert.equal(parseQuery('a=%zz').error, true);
  assert.deepEqual(Object.fromEntries(parseQuery('a=%zz&b=1').values), { b: ['1'] });
});

test('filterByStateAndGroup drops inactive servers and other groups', () => {
  const servers = m(
    ['a', 'group=g1&state=active'],
    ['b', 'group=g2'],
    ['c', 'group=g2&group=g1'],
    ['d', 'state=inactive&group=g1'],
    ['e', 'bad;metadata'],
  );
  const all = new Map(servers);
  filterByStateAndGroup('', all);
  assert.deepEqual([...all.keys()], ['a', 'b', 'c', 'e']);
  filterByStateAndGroup('g1', servers);
  // unparsable metadata is kept, as in Go
  assert.deepEqual([...servers.keys()], ['a', 'c', 'e']);
});
