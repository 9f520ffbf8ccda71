// keepHot (src/node/keep-hot.ts) and the Client's spinUs: the loop is kept polling only for the
// time asked, and a client that spins still settles every call and lets the process go idle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { afterRead, isHot, keepHot } from '../../src/node/keep-hot.js';
import { Client } from '../../src/client/client.js';
import { createServer } from '../../src/server/index.js';
import { sleep, until } from '../support/tg.js';

describe('keepHot', () => {
  it('keeps the event loop polling for the time asked, then stops', async () => {
    const t0 = performance.now();
    keepHot(20);
    keepHot(5); // a shorter request does not cut the longer one
    assert.equal(isHot(), true);
    await until(() => !isHot(), 2_000, 'the spin to end');
    const took = performance.now() - t0;
    assert.ok(took >= 19, `stopped after ${took.toFixed(1)} ms, asked for 20`);
    await sleep(20);
    assert.equal(isHot(), false, 'nothing restarts it');
  });

  it('afterRead spins only while reads come close together and the connection expects more', async () => {
    await until(() => !isHot(), 2_000, 'no spin left from before');
    // reads 5 ms apart with a 1 ms window: never close, never a spin
    for (let i = 0; i < 12; i++) {
      afterRead(1, true);
      assert.equal(isHot(), false, `read ${i}`);
      await sleep(5);
    }
    // back-to-back reads, but nothing pending: no spin
    for (let i = 0; i < 12; i++) afterRead(1, false);
    assert.equal(isHot(), false);
    // back-to-back reads with calls pending: the spin starts
    afterRead(1, true);
    assert.equal(isHot(), true);
    await until(() => !isHot(), 2_000, 'the spin to end');
  });

  it('a Client against a server that answers each call on its own keeps calling correctly and goes idle after', async () => {
    const server = createServer();
    server.registerFunction('S', async (a: { I: number }) => ({ I: a.I }), 'Echo');
    await server.serve('tcp', '127.0.0.1:0');
    const c = new Client(server.address!, { spinUs: 200 });
    try {
      for (let round = 0; round < 20; round++) {
        const got = await Promise.all(Array.from({ length: 16 }, (_, i) => c.call<{ I: number }>('S', 'Echo', { I: round * 16 + i })));
        got.forEach((r, i) => assert.equal(r.I, round * 16 + i));
      }
      await until(() => !isHot(), 2_000, 'the spin to end once no call is pending');
    } finally {
      await c.close();
      await server.close();
    }
  });
});
