// Issue 15 point 2: a handler that crashes answers like Go's recovered panic
// (rpcx v1.9.4 server/service.go `call` recover, `RpcServiceInternalError`):
//   [service internal error]: <panic value>, method: <Method>, argv: <args %+v>, stack: <stack>
// The Go server peer's Echo.Panic gives Go's own text (TG); the TS `rpcx serve` demo's Echo.Panic
// crashes with a JS runtime error and must answer in the same shape (TT).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { peerName, peerReady, requirePeer, startPeerServer, type PeerKind, type PeerServer } from '../support/peer.js';
import { rejectsWith } from '../support/tg.js';

for (const kind of ['go', 'ts'] as const satisfies readonly PeerKind[]) {
  describe(`recovered handler crash: TS Client -> ${peerName(kind)} server`, { timeout: 60_000 }, () => {
    let srv: PeerServer | undefined;
    let client: Client | undefined;

    before(async () => {
      if (!peerReady(kind)) return;
      srv = await startPeerServer(kind);
      client = await Client.connect(srv.address);
    });

    after(async () => {
      await client?.close({ graceful: false });
      await srv?.kill();
    });

    it('a crash with a value: Go\'s [service internal error] text, method, argv %+v, stack', async (t) => {
      if (!requirePeer(t, kind)) return;
      const err = await rejectsWith(client!.call('Echo', 'Panic', { Text: 'boom' }), 'SERVICE', 'Panic');
      assert.ok(err instanceof ServiceError);
      const value = kind === 'go' ? 'boom' : 'TypeError: boom';
      const head = `[service internal error]: ${value}, method: Panic, argv: &{Text:boom}, stack: `;
      assert.ok(err.message.startsWith(head), `got ${JSON.stringify(err.message.slice(0, 200))}`);
      const stack = err.message.slice(head.length);
      if (kind === 'go') assert.match(stack, /^goroutine \d+ \[running\]:\n/);
      else assert.match(stack, /^ {4}at .*Panic/);
      assert.ok(Buffer.byteLength(stack) <= 4096, 'the stack is cut at 4096 bytes, as Go cuts it');
    });

    it('a runtime error (Go: nil pointer dereference; JS: property of undefined)', async (t) => {
      if (!requirePeer(t, kind)) return;
      const err = await rejectsWith(client!.call('Echo', 'Panic', { Text: '' }), 'SERVICE', 'Panic');
      const value = kind === 'go' ? 'runtime error: invalid memory address or nil pointer dereference' : "TypeError: Cannot read properties of undefined (reading 'Text')";
      assert.ok(err.message.startsWith(`[service internal error]: ${value}, method: Panic, argv: &{Text:}, stack: `), err.message.slice(0, 200));
    });

    it('the server stays up and the connection usable', async (t) => {
      if (!requirePeer(t, kind)) return;
      await rejectsWith(client!.call('Echo', 'Panic', { Text: 'again' }), 'SERVICE');
      assert.deepEqual(await client!.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
      // an error the handler chose to return/throw stays verbatim
      const e = await rejectsWith(client!.call('Echo', 'Error', { Text: 'chosen' }), 'SERVICE');
      assert.equal(e.message, 'chosen');
    });
  });
}
