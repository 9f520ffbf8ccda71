import { ErrorCode, RpcxError } from '../errors.js';
import type { RequestContext } from './context.js';

/**
 * A service method or function (Go: `func (t *T) Mul(ctx, args *A, reply *R) error`): gets the
 * decoded args and the request context, returns the reply (or a Promise of it). Throwing or
 * rejecting sends an error reply with the error's message verbatim (`String(x)` for a non-Error).
 * Returning `undefined` sends an empty payload, which a Go client reads as "reply untouched".
 */
export type Handler<A = any, R = unknown> = (args: A, ctx: RequestContext) => R | Promise<R>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A raw handler (Go: `Server.AddHandler(path, method, func(*server.Context) error)`): it decodes
 * with `ctx.bind()` and answers with `ctx.write(reply)` or `ctx.writeError(err)` itself. If it
 * throws or rejects, `ctx.writeError(err)` is sent for it; if it returns without writing, no reply
 * is sent — exactly as in Go.
 */
export type RawHandler = (ctx: RequestContext) => void | Promise<void>;

/** Codec type hints of one method: a protobufjs `Type` or a thrift struct descriptor, by codec. */
export interface MethodTypes {
  /** Schema the args payload is decoded with (passed to the codec as `options.type`). */
  readonly args?: unknown;
  /** Schema the reply is encoded with. */
  readonly reply?: unknown;
}

/** @internal One registered method or function. */
export interface MethodEntry {
  readonly name: string;
  readonly fn: Handler;
  /** `this` for the call: the instance for a method, `undefined` for a function. */
  readonly self: unknown;
  readonly argsType: unknown;
  readonly replyType: unknown;
}

/** @internal A service: its methods (from `register`) and functions (from `registerFunction`). */
export interface ServiceEntry {
  readonly name: string;
  methods: Map<string, MethodEntry>;
  readonly functions: Map<string, MethodEntry>;
}

export interface RegisterOptions {
  /** Service name (Go: `RegisterName`); default the class name (`instance.constructor.name`). */
  name?: string;
  /** Only these methods (Go: `RegisterWithMethods`); default every method (see `register`). */
  methods?: readonly string[];
  /** Codec type hints per method name, for protobuf and thrift. */
  types?: Readonly<Record<string, MethodTypes>>;
  /**
   * Metadata announced to registries (Go: the `metadata` argument of `Register`/`RegisterName`):
   * a URL query such as `weight=10&group=a`. Default empty.
   */
  metadata?: string;
}

export interface RegisterFunctionOptions {
  /** Codec type hints for protobuf and thrift. */
  types?: MethodTypes;
  /** Metadata of the service path announced to registries (Go: `RegisterFunction`'s `metadata`). */
  metadata?: string;
}

/** Names of the callable members of `instance`: own properties, then the prototype chain up to Object.prototype. */
function methodNames(instance: object): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let o: object | null = instance; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (seen.has(key) || key === 'constructor') continue;
      seen.add(key);
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d === undefined || typeof d.value !== 'function') continue; // getters are not methods
      if (key.startsWith('_')) continue;
      out.push(key);
    }
  }
  return out;
}

/**
 * Services, functions and raw handlers of one server (Go: `Server.serviceMap` and
 * `Server.router`). Lookup order is Go's: raw handler, then service method, then function.
 */
export class ServiceRegistry {
  readonly services = new Map<string, ServiceEntry>();
  readonly handlers = new Map<string, Map<string, RawHandler>>();

  register(instance: object, options: RegisterOptions = {}): string {
    if (typeof instance !== 'object' || instance === null) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'rpcx.Register: the service must be an object');
    }
    const ctorName = (instance as { constructor?: { name?: unknown } }).constructor?.name;
    const name = options.name ?? (typeof ctorName === 'string' && ctorName !== 'Object' ? ctorName : '');
    if (name === '') {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'rpcx.Register: no service name for a plain object; pass { name }');
    }
    const all = methodNames(instance);
    let names = all;
    if (options.methods !== undefined) {
      if (options.methods.length === 0) {
        throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `rpcx.Register: empty methods whitelist for ${name}; use Register/RegisterName to register all methods`);
      }
      for (const m of options.methods) {
        if (typeof (instance as Record<string, unknown>)[m] !== 'function') {
          throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `rpcx.Register: method ${JSON.stringify(m)} not found on ${name}`);
        }
      }
      names = [...options.methods];
    }
    if (names.length === 0) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `rpcx.Register: type ${name} has no exported methods of suitable type`);
    }
    const methods = new Map<string, MethodEntry>();
    for (const m of names) {
      const fn = (instance as Record<string, unknown>)[m] as Handler;
      const t = options.types?.[m];
      methods.set(m, { name: m, fn, self: instance, argsType: t?.args, replyType: t?.reply });
    }
    const existing = this.services.get(name);
    if (existing !== undefined) existing.methods = methods;
    else this.services.set(name, { name, methods, functions: new Map() });
    return name;
  }

  registerFunction(servicePath: string, fn: Handler, name?: string, options: RegisterFunctionOptions = {}): string {
    if (typeof fn !== 'function') {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'function must be func or bound method');
    }
    let fname = name ?? fn.name.replace(/^bound /, '');
    if (name === undefined) {
      const i = fname.lastIndexOf('.');
      if (i >= 0) fname = fname.slice(i + 1);
    }
    if (fname === '') {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'rpcx.registerFunction: no func name; pass a name');
    }
    let svc = this.services.get(servicePath);
    if (svc === undefined) {
      svc = { name: servicePath, methods: new Map(), functions: new Map() };
      this.services.set(servicePath, svc);
    }
    svc.functions.set(fname, { name: fname, fn, self: undefined, argsType: options.types?.args, replyType: options.types?.reply });
    return fname;
  }

  addHandler(servicePath: string, serviceMethod: string, handler: RawHandler): void {
    if (typeof handler !== 'function') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'handler must be a function');
    let m = this.handlers.get(servicePath);
    if (m === undefined) {
      m = new Map();
      this.handlers.set(servicePath, m);
    }
    m.set(serviceMethod, handler);
  }

  /** Service names (Go: `Server.ListServices`). */
  list(): string[] {
    return [...this.services.keys()];
  }
}
