import type { CallOptions } from './client.js';

/**
 * The typed face of a remote service: for an interface such as
 *
 * ```ts
 * interface Arith {
 *   Mul(args: { A: number; B: number }): { C: number };
 * }
 * ```
 *
 * `ServiceProxy<Arith>` has `Mul(args, options?) => Promise<{ C: number }>`. Method names are
 * the Go method names (`serviceMethod`); declared return types may be plain or promises.
 */
export type ServiceProxy<T, O = CallOptions> = {
  readonly [K in keyof T as T[K] extends (...a: never[]) => unknown ? K : never]: T[K] extends () => infer R
    ? (args?: undefined, options?: O) => Promise<Awaited<R>>
    : T[K] extends (args: infer A) => infer R
      ? (args: A, options?: O) => Promise<Awaited<R>>
      : never;
};

/** Anything with an XClient-style `call(serviceMethod, args, options)`. */
export interface ProxyTarget<O = CallOptions> {
  call(serviceMethod: string, args: unknown, options?: O): Promise<unknown>;
}

/**
 * A `Proxy` whose every string property is a remote method: `proxy.Mul(args, options)` is
 * `target.call('Mul', args, options)` (rpcx has no such helper in Go, where callers name the
 * method as a string). `then` is left undefined so a proxy is not mistaken for a promise.
 * Works with an {@link XClient}, or with a `Client` through `{ call: (m, a, o) => client.call(path, m, a, o) }`.
 * Portable (the browser client uses it too).
 */
export function createProxy<T extends object, O = CallOptions>(target: ProxyTarget<O>): ServiceProxy<T, O> {
  const cache = new Map<string, (args: unknown, options?: O) => Promise<unknown>>();
  return new Proxy(Object.create(null) as object, {
    get(_t, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let fn = cache.get(prop);
      if (fn === undefined) {
        fn = (args: unknown, options?: O) => target.call(prop, args, options);
        cache.set(prop, fn);
      }
      return fn;
    },
  }) as ServiceProxy<T, O>;
}
