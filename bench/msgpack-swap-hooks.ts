// Module resolve hook of bench/msgpack-swap.ts.
import type { ResolveHook } from 'node:module';

const library = new URL('./msgpack-library.js', import.meta.url).href;

export const resolve: ResolveHook = async (specifier, context, next) => {
  const r = await next(specifier, context);
  if (r.url.endsWith('/build/src/codec/msgpack.js') && context.parentURL !== library) return { ...r, url: library };
  return r;
};
