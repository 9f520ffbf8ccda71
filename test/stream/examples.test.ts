// examples/route-chat.ts and examples/micro-stream.ts run as a user runs them, against the Go
// server peer with `-stream` (and micro-stream also against its own TS server).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady } from '../support/tg.js';
import { runExample } from '../support/examples.js';

const MICRO = [
  'Stream: got 10 replies: 0 1 2 3 4 5 6 7 8 9',
  'PingPong: sent ping 1, got pong 1',
  'PingPong: sent ping 2, got pong 2',
  'PingPong: sent ping 3, got pong 3',
  'PingPong: end-of-stream true',
];

describe('stream examples', { timeout: 60_000 }, () => {
  let go: GoServer | undefined;
  before(async () => {
    if (goReady()) go = await startGoServer(['-stream']);
  });
  after(async () => {
    await go?.kill();
  });

  it('example route-chat (against the Go server peer)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('route-chat', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    // gRPC's route_guide output: each note comes back once another is sent at the same point.
    assert.deepEqual(r.lines, [
      'Got message "First message" at point(0, 1)',
      'Got message "Second message" at point(0, 2)',
      'Got message "Third message" at point(0, 3)',
    ]);
  });

  it('example micro-stream (its own TS server)', async () => {
    const r = await runExample('micro-stream', []);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, MICRO);
  });

  it('example micro-stream (against the Go server peer)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const r = await runExample('micro-stream', [go!.address]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, MICRO);
  });
});
