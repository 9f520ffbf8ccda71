import assert from 'node:assert/strict';
import { RpcxError } from '../../src/errors.js';
import type { Codec, CodecOptions } from '../../src/codec/types.js';

/** Asserts that `fn` throws an RpcxError with code CODEC or LIMIT (and `message`, if given). */
export function codecError(fn: () => unknown, message?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RpcxError, `not an RpcxError: ${String(err)}`);
    assert.ok(err.code === 'CODEC' || err.code === 'LIMIT', err.code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

/** Decodes every input with every type; anything thrown must be an RpcxError (of `code`, if given). */
export function decodesOrRpcxError(codec: Codec, inputs: Iterable<Uint8Array>, types: readonly CodecOptions['type'][], code?: string): void {
  for (const input of inputs) {
    for (const type of types) {
      try {
        codec.decode(input, { type });
      } catch (err) {
        const hex = Buffer.from(input).toString('hex');
        assert.ok(err instanceof RpcxError && (code === undefined || err.code === code), `${hex}: ${String(err)}`);
      }
    }
  }
}
