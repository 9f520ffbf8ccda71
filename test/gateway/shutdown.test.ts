// Graceful shutdown of the HTTP side of a tcp port (Go: rpcx `Server.Shutdown(ctx)` calls
// `http.Server.Shutdown(ctx)` on the gateway and JSON-RPC servers with the same ctx): a
// connection idle at shutdown is closed at once, a request in flight gets its answer (with
// `Connection: close`), and what is still busy at the shutdown's own deadline is cut then.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { RpcxError } from '../../src/errors.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';

/** A service whose `Wait` calls stay in flight until the test releases them. */
class Gate {
  entered: (() => void) | undefined;
  release: (() => void) | undefined;
  async Wait(): Promise<{ Ok: boolean }> {
    const released = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    this.entered?.();
    await released;
    return { Ok: true };
  }
}

async function start(): Promise<{ server: RpcxServer; gate: Gate; port: number }> {
  const server = createServer({ codecs: demoCodecs() });
  registerDemoServices(server);
  const gate = new Gate();
  server.register(gate, { name: 'Gate' });
  const key = await server.serve('tcp', '127.0.0.1:0');
  return { server, gate, port: Number(key.slice(key.lastIndexOf(':') + 1)) };
}

function gatewayRequest(path: string, method: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nX-RPCX-ServiceMethod: ${method}\r\nX-RPCX-SerializeType: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** Resolves with the next whole response (head and Content-Length body) read from `socket`. */
function nextResponse(socket: Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
      if (buf.length < end + 4 + len) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ head, body: buf.slice(end + 4, end + 4 + len) });
    };
    const onClose = (): void => reject(new Error(`closed before a whole answer: ${JSON.stringify(buf)}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

describe('gateway: shutdown', () => {
  test('an idle keep-alive connection closes at once; a request in flight gets its answer with Connection: close', async () => {
    const { server, gate, port } = await start();
    const idle = await open(port);
    idle.write(gatewayRequest('/Arith', 'Mul', '{"A":3,"B":4}'));
    const first = await nextResponse(idle);
    assert.equal(first.body, '{"C":12}');
    const idleClosed = once(idle, 'close');

    const busy = await open(port);
    const entered = new Promise<void>((resolve) => {
      gate.entered = resolve;
    });
    const answer = nextResponse(busy);
    busy.write(gatewayRequest('/Gate', 'Wait', '{}'));
    await entered;

    // A long deadline: the idle connection must not wait for it, nor for the busy request.
    const shutdown = server.shutdown({ timeoutMs: 60_000 });
    await idleClosed;
    assert.equal(busy.destroyed, false, 'the busy connection is still open while its request runs');

    gate.release!();
    const a = await answer;
    assert.match(a.head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(a.head, /\r\nConnection: close(\r\n|$)/i);
    assert.equal(a.body, '{"Ok":true}');
    await once(busy, 'close');
    await shutdown;
  });

  test('a request still running at the shutdown deadline is cut then, not after a fixed 10 s', async () => {
    const { server, gate, port } = await start();
    const busy = await open(port);
    const entered = new Promise<void>((resolve) => {
      gate.entered = resolve;
    });
    busy.resume();
    busy.write(gatewayRequest('/Gate', 'Wait', '{}'));
    await entered;
    const closed = once(busy, 'close');
    const started = performance.now();
    await assert.rejects(server.shutdown({ timeoutMs: 200 }), (err: unknown) => err instanceof RpcxError && err.code === 'TIMEOUT');
    await closed;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `cut after ${Math.round(elapsed)} ms; the shutdown deadline was 200 ms`);
    gate.release!();
  });
});
