// node scripts/check-import-cycles.mjs [DIR]: fails (exit 1) when the TypeScript modules under DIR
// (default src/) import one another in a cycle, and prints each cycle.
//
// It reads the .ts sources, not the compiled JavaScript, so `import type` counts: a type-only
// cycle is still two modules that cannot be understood (or split, or published) one without the
// other. Edges: `import ... from`, `export ... from`, `import '...'`, `import('...')` and
// `declare module '...'` with a relative specifier; `./x.js` resolves to `./x.ts`, a directory
// to its `index.ts`. Dependency-free on purpose: madge and dependency-cruiser parse TypeScript
// through the `typescript` package's JavaScript API, which TypeScript 7 (our compiler) no longer
// ships.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Removes comments (keeping string literals, so that `'//'` in a string survives). */
function stripComments(src) {
  return src.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, str) => str ?? ' ');
}

const SPECIFIERS = [
  // import x from '...', import type { X } from '...', export { x } from '...', export * from '...'
  /(?:^|[;\n}])\s*(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
  // import '...'
  /(?:^|[;\n}])\s*import\s*(['"])([^'"\n]+)\1/g,
  // import('...'), import type X = import('...')
  /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  // declare module '...' (an augmentation depends on the module it augments)
  /\bdeclare\s+module\s*(['"])([^'"\n]+)\1/g,
];

/** The relative module specifiers `src` imports or re-exports. */
export function importSpecifiers(src) {
  const code = stripComments(src);
  const out = new Set();
  for (const re of SPECIFIERS) for (const m of code.matchAll(re)) if (m[2].startsWith('.')) out.add(m[2]);
  return [...out];
}

function resolveTs(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c) && statSync(c).isFile());
}

function tsFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/**
 * The import cycles among the .ts files under `dir`: one cycle per strongly connected component
 * (Tarjan), shown as a path through it that returns to its start, with paths relative to `dir`'s
 * parent. An empty list means dependencies run one way.
 */
export function findImportCycles(dir) {
  const root = resolve(dir);
  const files = tsFiles(root);
  const graph = new Map();
  for (const f of files) {
    const deps = new Set();
    for (const spec of importSpecifiers(readFileSync(f, 'utf8'))) {
      const target = resolveTs(f, spec);
      if (target !== undefined && target.startsWith(root + sep)) deps.add(target);
    }
    graph.set(f, [...deps].sort());
  }

  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || graph.get(v).includes(v)) components.push(c);
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);

  // One readable cycle per component: breadth-first from its first file back to itself.
  const show = (f) => relative(dirname(root), f).split(sep).join('/');
  return components.map((c) => {
    const members = new Set(c);
    const start = [...members].sort()[0];
    const prev = new Map();
    const queue = [start];
    let end;
    while (queue.length > 0 && end === undefined) {
      const v = queue.shift();
      for (const w of graph.get(v)) {
        if (!members.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end; v !== start; v = prev.get(v)) path.splice(1, 0, v);
    path.push(start);
    return { files: [...members].sort().map(show), cycle: path.map(show) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../src', import.meta.url));
  const cycles = findImportCycles(dir);
  if (cycles.length === 0) {
    console.log(`no import cycles in ${relative(process.cwd(), dir) || '.'}`);
    process.exit(0);
  }
  for (const c of cycles) {
    console.error(`import cycle among ${c.files.length} modules: ${c.files.join(', ')}`);
    console.error(`  e.g. ${c.cycle.join(' -> ')}`);
  }
  process.exit(1);
}
