// When FrameConnection writes (src/node/frame-connection.ts): frames queued in one event-loop turn
// go out together, except that a frame is written at once when the peer has nothing else to work
// on (the client's `awaiting`: its pending calls).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { FrameConnection } from '../../src/node/frame-connection.js';
import { createMessage } from '../../src/protocol/message.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { until } from '../support/tg.js';

/** A loopback socket pair: our end (with its writes counted) and the frames the other end decodes. */
async function pair(): Promise<{ socket: Socket; writes: () => number; seqs: bigint[]; close: () => void }> {
  const seqs: bigint[] = [];
  const decoder = new FrameDecoder();
  const server = createNetServer((peer) =>
    peer.on('data', (chunk: Buffer) => {
      decoder.write(chunk);
      for (let m = decoder.read(); m !== undefined; m = decoder.read()) seqs.push(m.seq);
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let n = 0;
  const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
  (socket as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
    n++;
    return write(...a);
  };
  return {
    socket,
    writes: () => n,
    seqs,
    close: () => {
      socket.destroy();
      server.close();
    },
  };
}

const request = (seq: number) => createMessage({ seq: BigInt(seq), servicePath: 'S', serviceMethod: 'M', payload: new Uint8Array(10) });
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FrameConnection write batching', () => {
  it('a frame that is the only one awaited is written at once; others wait for the rest of the turn', async () => {
    const p = await pair();
    let awaiting = 1;
    const conn = new FrameConnection(p.socket, 'test', { compressors: defaultCompressors, awaiting: () => awaiting });
    try {
      assert.equal(conn.send(request(1)), undefined);
      assert.equal(p.writes(), 1, 'the only awaited frame is written within send');
      awaiting = 2;
      conn.send(request(2));
      assert.equal(p.writes(), 1, 'a frame with another in flight waits');
      awaiting = 3;
      conn.send(request(3)); // joins frame 2 (unless 20 us have passed since it was queued)
      await turn();
      assert.ok(p.writes() === 2 || p.writes() === 3, `${p.writes()} writes`);
      await until(() => p.seqs.length === 3, 2_000, 'the peer to read 3 frames');
      assert.deepEqual(p.seqs, [1n, 2n, 3n]);
    } finally {
      p.close();
    }
  });

  it('without awaiting (the server), a single frame waits for the end of the turn', async () => {
    const p = await pair();
    const conn = new FrameConnection(p.socket, 'test', { compressors: defaultCompressors });
    try {
      conn.send(request(7));
      assert.equal(p.writes(), 0);
      await turn();
      assert.equal(p.writes(), 1);
      await until(() => p.seqs.length === 1, 2_000, 'the peer to read the frame');
      assert.deepEqual(p.seqs, [7n]);
    } finally {
      p.close();
    }
  });
});
