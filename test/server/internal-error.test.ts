// Issue 15 point 2, TS server side: which throws become Go's recovered-panic text, the args
// rendering (Go %+v), functions (Go prints `&{{}}` for their method), raw handlers (Go:
// `WriteError(fmt.Errorf("%v", r))`), the option leaving the stack out, and what hooks see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { ServiceInternalError, createServer, type RpcxServer } from '../../src/server/index.js';

class Crash {
  Type(args: { A: number; In: { X: string } }): unknown {
    return (args as unknown as { missing: { deep: number } }).missing.deep;
  }
  Range(): unknown {
    return new Array(-1);
  }
  Reference(): unknown {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return
    return (globalThis as unknown as { eval: (s: string) => unknown }).eval('notDefinedAnywhere');
  }
  async Async(): Promise<unknown> {
    await Promise.resolve();
    return (null as unknown as { x: number }).x;
  }
  Chosen(): never {
    throw new Error('chosen error');
  }
  Service(): never {
    throw new ServiceError('service error text');
  }
}

describe('TS server: runtime errors answer as Go\'s recovered panic', () => {
  let server: RpcxServer;
  let quiet: RpcxServer;
  let client: Client;
  let quietClient: Client;
  const seen: unknown[] = [];

  before(async () => {
    server = createServer({ handleServiceError: (e) => seen.push(e) });
    server.register(new Crash());
    server.registerFunction('Fn', () => (undefined as unknown as { a: number }).a, 'Crash');
    server.addHandler('Raw', 'Crash', () => {
      (undefined as unknown as { a: number }).a;
    });
    quiet = createServer({ internalErrorStack: false });
    quiet.register(new Crash());
    client = await Client.connect(await server.serve('tcp', '127.0.0.1:0'));
    quietClient = await Client.connect(await quiet.serve('tcp', '127.0.0.1:0'));
  });

  after(async () => {
    await client.close({ graceful: false });
    await quietClient.close({ graceful: false });
    await server.close();
    await quiet.close();
  });

  const text = async (c: Client, path: string, method: string, args: unknown): Promise<string> => {
    try {
      await c.call(path, method, args, { timeoutMs: 5_000 });
    } catch (e) {
      assert.ok(e instanceof ServiceError, String(e));
      return e.message;
    }
    assert.fail('the call succeeded');
  };

  it('TypeError: value, method, argv as Go %+v of a pointer, then the JS stack', async () => {
    const t = await text(client, 'Crash', 'Type', { A: 1, In: { X: 'y' } });
    const head = "[service internal error]: TypeError: Cannot read properties of undefined (reading 'deep'), method: Type, argv: &{A:1 In:{X:y}}, stack: ";
    assert.ok(t.startsWith(head), t);
    assert.match(t.slice(head.length), /^ {4}at Crash\.Type /);
  });

  it('RangeError and ReferenceError, sync and async handlers', async () => {
    assert.match(await text(client, 'Crash', 'Range', {}), /^\[service internal error\]: RangeError: Invalid array length, method: Range, argv: &\{\}, stack: {5}at /);
    assert.match(await text(client, 'Crash', 'Reference', [1, 2]), /^\[service internal error\]: ReferenceError: notDefinedAnywhere is not defined, method: Reference, argv: &\[1 2\], stack: /);
    assert.match(await text(client, 'Crash', 'Async', 'str'), /^\[service internal error\]: TypeError: Cannot read properties of null \(reading 'x'\), method: Async, argv: str, stack: /);
  });

  it('thrown Errors and ServiceErrors stay verbatim', async () => {
    assert.equal(await text(client, 'Crash', 'Chosen', {}), 'chosen error');
    assert.equal(await text(client, 'Crash', 'Service', {}), 'service error text');
  });

  it('a function: Go prints `&{{}}` for its method', async () => {
    assert.match(await text(client, 'Fn', 'Crash', {}), /^\[service internal error\]: TypeError: .*, method: &\{\{\}\}, argv: &\{\}, stack: /);
  });

  it('a raw handler: the panic value only, as Go`s processOneRequest recover writes it', async () => {
    assert.equal(await text(client, 'Raw', 'Crash', {}), "TypeError: Cannot read properties of undefined (reading 'a')");
  });

  it('internalErrorStack: false leaves the stack out', async () => {
    assert.equal(await text(quietClient, 'Crash', 'Type', { A: 2, In: { X: '' } }), "[service internal error]: TypeError: Cannot read properties of undefined (reading 'deep'), method: Type, argv: &{A:2 In:{X:}}, stack: ");
  });

  it('handleServiceError sees a ServiceInternalError with the original error as cause', () => {
    const e = seen.find((x) => x instanceof ServiceInternalError && x.method === 'Type') as ServiceInternalError | undefined;
    assert.ok(e !== undefined);
    assert.ok(e.cause instanceof TypeError);
    assert.deepEqual(e.argv, { A: 1, In: { X: 'y' } });
    assert.equal(e.code, 'INTERNAL');
  });
});
