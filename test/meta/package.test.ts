// What `npm pack` ships (STYLE.md 15): the library built (prepack builds on a clean clone), its
// licence, source maps whose sources ship too, type-correct ESM entries by
// @arethetypeswrong/cli's esm-only profile, and require(esm) working where Node has it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { repoRoot } from '../support/go.js';

interface PackageJson {
  version: string;
  license: string;
  scripts: Record<string, string>;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

it('LICENSE is the Apache License 2.0 text, as package.json says', () => {
  assert.equal(pkg.license, 'Apache-2.0');
  const text = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
  assert.match(text, /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\/\s+TERMS AND CONDITIONS/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
  assert.ok(text.length > 11_000, 'the full text');
});

it('prepack builds from scratch', () => {
  assert.match(pkg.scripts['prepack'] ?? '', /npm run build/);
});

describe('npm pack', { timeout: 60_000 }, () => {
  let dir: string;
  let tarball: string;
  let files: Set<string>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rpcx-pack-'));
    // --ignore-scripts: the tests run on the build `npm test` just made; prepack would remove it.
    const r = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [info] = JSON.parse(r.stdout) as [{ filename: string; files: { path: string }[] }];
    tarball = join(dir, info.filename);
    files = new Set(info.files.map((f) => f.path));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the library, its types, the CLI, LICENSE and README, and no tests', () => {
    const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)));
    for (const t of [...targets, ...Object.values(pkg.bin)]) assert.ok(files.has(posix.normalize(t)), `${t} is packed`);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'build/src/index.js', 'build/src/index.d.ts', 'build/src/server/index.d.ts']) {
      assert.ok(files.has(f), `${f} is packed`);
    }
    assert.ok(files.size > 100, `${files.size} files`);
    for (const f of files) assert.doesNotMatch(f, /^(build\/(test|bench|examples)|test|interop|bench|examples)\//);
  });

  it('every source map in it points at sources in it', () => {
    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 0);
    for (const m of maps) {
      const { sources } = JSON.parse(readFileSync(join(repoRoot, m), 'utf8')) as { sources: string[] };
      for (const s of sources) {
        const packed = posix.join(posix.dirname(m), s);
        assert.ok(files.has(packed), `${m}: ${s} (${packed}) is packed`);
      }
    }
  });

  it('@arethetypeswrong/cli finds no problem (profile esm-only: ESM from Node 16+ and bundlers)', () => {
    const attw = join(repoRoot, 'node_modules', '.bin', process.platform === 'win32' ? 'attw.cmd' : 'attw');
    const r = spawnSync(attw, [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

it('require("rpcx") works where Node has require(esm) (20.19+, 22.12+)', (t) => {
  if ((process.features as { require_module?: boolean }).require_module !== true) {
    t.skip(`Node ${process.version} has no require(esm)`);
    return;
  }
  // The package requiring itself by name: the exports map, as a dependant resolves it.
  const require = createRequire(join(repoRoot, 'package.json'));
  const rpcx = require('rpcx') as Record<string, unknown>;
  assert.equal(typeof rpcx['createServer'], 'function');
  assert.equal(typeof rpcx['Client'], 'function');
  assert.equal(typeof (require('rpcx/protocol') as Record<string, unknown>)['FrameDecoder'], 'function');
  assert.equal(typeof (require('rpcx/codec') as Record<string, unknown>)['JsonCodec'], 'function');
  assert.ok(existsSync(dirname(require.resolve('rpcx'))));
});
