// Cases 63-66 (interop-cases.md): the stream service and file transfer, TS client against the
// Go server peer (TG: interop/go/cmd/server -stream -file-dir) and against a TS server (TT),
// with Client and XClient, MsgPack and JSON token calls.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Client, createXClient, Peer2PeerDiscovery, type XClient } from '../../src/client/index.js';
import { SerializeType } from '../../src/protocol/index.js';
import type { Duplex } from 'node:stream';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { requireGo } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { content, readAll, sha256hex, startTsStreamServer, writeAllAndEnd, type TsStreamServer } from './support.js';

const MiB = 1024 * 1024;

interface Peer {
  key: string;
  /** The upload as the server recorded it: `{ file_name, file_size, meta, received, sha256 }`. */
  uploaded(name: string, index: number): Promise<{ fileName: string; fileSize: number; meta: Record<string, string>; received: number; sha256: string }>;
}

async function echoCheck(stream: Duplex, size: number): Promise<void> {
  const data = content(size);
  const [, got] = await Promise.all([writeAllAndEnd(stream, data), readAll(stream)]);
  assert.equal(got.length, size + 8, 'echo plus the 8-byte count trailer');
  assert.equal(sha256hex(got.subarray(0, size)), sha256hex(data), 'echoed bytes');
  // The trailer is written after the server read our FIN: the half-close was seen, and the
  // server could still write after it.
  assert.equal(got.readBigUInt64BE(size), BigInt(size), 'count trailer');
}

function xclient(peer: Peer, path: string, st: number): XClient {
  return createXClient(path, { discovery: new Peer2PeerDiscovery(peer.key), serializeType: st });
}

function suite(dir: 'TG' | 'TT', start: () => Promise<{ peer: Peer; stop: () => Promise<void> }>): void {
  describe(`${dir} stream service and file transfer`, () => {
    let peer: Peer;
    let stop: (() => Promise<void>) | undefined;
    let tmp: string;
    const skip = dir === 'TG' && !goReady();
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'rpcx-stream-'));
      if (skip) return;
      ({ peer, stop } = await start());
    });
    after(async () => {
      await stop?.();
      rmSync(tmp, { recursive: true, force: true });
    });
    const need = (t: TestContext): boolean => (dir === 'TG' ? requireGo(t, ['server']) : true);

    test(`${dir} stream_echo`, async (t) => {
      if (!need(t)) return;
      // Client, MsgPack token call (Go's default), 16 MiB each way.
      const c = new Client(peer.key);
      try {
        await echoCheck(await c.stream({ case: 'stream_echo' }), 16 * MiB);
      } finally {
        await c.close();
      }
      // XClient on _streamservice (as Go's), JSON token call.
      const x = xclient(peer, '_streamservice', SerializeType.JSON);
      try {
        await echoCheck(await x.stream(), 1 * MiB);
      } finally {
        await x.close();
      }
    });

    test(`${dir} file_upload`, async (t) => {
      if (!need(t)) return;
      const x = xclient(peer, '_filetransfer', SerializeType.MsgPack);
      const c = new Client(peer.key, { serializeType: SerializeType.JSON });
      try {
        let i = 0;
        for (const size of [0, 1024, 10 * MiB]) {
          for (const [how, send] of [
            ['xclient-msgpack', (p: string, o: object) => x.sendFile(p, o)],
            ['client-json', (p: string, o: object) => c.sendFile(p, o)],
          ] as const) {
            const name = `up-${how}-${size}.bin`;
            const path = join(tmp, name);
            const data = content(size);
            writeFileSync(path, data);
            const progress: number[] = [];
            const sent = await send(path, { metadata: { case: 'file_upload', size: String(size), ünï: 'cødé' }, onProgress: (p: { bytes: number }) => progress.push(p.bytes) });
            assert.equal(sent, size);
            if (size > 0) assert.equal(progress.at(-1), size, 'progress reaches the size');
            const r = await peer.uploaded(name, i++);
            assert.equal(r.fileName, name, 'FileName is the base name');
            assert.equal(r.fileSize, size);
            assert.equal(r.received, size);
            assert.equal(r.sha256, sha256hex(data));
            assert.deepEqual(r.meta, { case: 'file_upload', size: String(size), ünï: 'cødé' });
          }
        }
      } finally {
        await x.close();
        await c.close();
      }
    });

    test(`${dir} file_download`, async (t) => {
      if (!need(t)) return;
      const x = xclient(peer, '_filetransfer', SerializeType.MsgPack);
      const c = new Client(peer.key, { serializeType: SerializeType.JSON });
      try {
        for (const size of [0, 1024, 10 * MiB]) {
          const p1 = join(tmp, `down-x-${size}`);
          let last = 0;
          assert.equal(await x.downloadFile(`content-${size}`, p1, { onProgress: (p) => (last = p.bytes) }), size);
          assert.equal(sha256hex(readFileSync(p1)), sha256hex(content(size)));
          assert.equal(last, size);
          const p2 = join(tmp, `down-c-${size}`);
          assert.equal(await c.downloadFile(`content-${size}`, p2, { metadata: { case: 'file_download' } }), size);
          assert.equal(sha256hex(readFileSync(p2)), sha256hex(content(size)));
        }
        // Go: a missing file is a success with 0 bytes.
        const p3 = join(tmp, 'missing');
        assert.equal(await c.downloadFile('no-such-file', p3), 0);
        assert.equal(readFileSync(p3).length, 0);
      } finally {
        await x.close();
        await c.close();
      }
    });
  });
}

suite('TG', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-go-files-'));
  const go: GoServer = await startGoServer(['-stream', '-file-dir', dir]);
  return {
    peer: {
      key: go.address,
      uploaded: async (name) => {
        // The Go handler writes <name>.meta after the file; the client resolved once the server closed.
        for (let i = 0; i < 500; i++) {
          try {
            const m = JSON.parse(readFileSync(join(dir, `${name}.meta`), 'utf8')) as { file_name: string; file_size: number; meta: Record<string, string> | null; received: number; sha256: string };
            return { fileName: m.file_name, fileSize: m.file_size, meta: m.meta ?? {}, received: m.received, sha256: m.sha256 };
          } catch {
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        throw new Error(`${name}.meta never appeared`);
      },
    },
    stop: async () => {
      await go.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

suite('TT', async () => {
  const ts: TsStreamServer = await startTsStreamServer();
  return {
    peer: {
      key: ts.key,
      uploaded: async (_name, i) => {
        const r = await ts.upload(i);
        return { fileName: r.args.fileName, fileSize: r.args.fileSize, meta: Object.fromEntries(r.args.meta), received: r.received, sha256: r.sha256 };
      },
    },
    stop: () => ts.server.close(),
  };
});
