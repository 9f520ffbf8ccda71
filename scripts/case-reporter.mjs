// A node:test reporter for scripts/test.mjs: writes one line per test that passed and was not
// skipped, its full title (the describe blocks it is in, then its own name, joined by " > "), so
// that scripts/test.mjs can check every named interop case ran in every listed direction.
// Files run in parallel and their events interleave, so the describe stack is kept per file.
export default async function* caseReporter(source) {
  const stacks = new Map();
  for await (const event of source) {
    const { type, data } = event;
    if (type !== 'test:start' && type !== 'test:pass' && type !== 'test:fail') continue;
    const file = data.file ?? '';
    let stack = stacks.get(file);
    if (stack === undefined) stacks.set(file, (stack = []));
    if (type === 'test:start') {
      stack.length = data.nesting;
      stack.push(data.name);
      continue;
    }
    stack.length = data.nesting;
    if (type === 'test:pass' && data.skip === undefined && data.todo === undefined) {
      yield JSON.stringify([...stack, data.name].join(' > ')) + '\n';
    }
  }
}
