// sendFile/downloadFile edge cases where this library does better than Go's SendFile (which
// reports a cancelled, truncated upload as success): each call settles once, with a typed error.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../src/client/index.js';
import type { RpcxError } from '../../src/errors.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { content, readAll, sha256hex } from './support.js';

describe('file transfer edge cases (TT)', () => {
  let server: RpcxServer;
  let client: Client;
  const received: { name: string; bytes: number; sha: string }[] = [];
  before(async () => {
    server = createServer();
    await server.enableFileTransfer({
      maxFileSize: 1024 * 1024,
      upload: async (s, args) => {
        if (args.fileName === 'hang') {
          // Reads everything but never closes: the client's timeoutMs must end its wait.
          s.resume();
          await new Promise(() => undefined);
        }
        if (args.fileName === 'early-close') {
          s.destroy();
          return;
        }
        const data = await readAll(s);
        received.push({ name: args.fileName, bytes: data.length, sha: sha256hex(data) });
      },
      download: async (s, args) => {
        if (args.fileName === 'slow') {
          s.write(Buffer.alloc(10));
          await new Promise(() => undefined); // never ends
        }
      },
    });
    client = new Client(await server.serve('tcp', '127.0.0.1:0'));
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test('a Readable source with fileName and fileSize uploads', async () => {
    const data = content(70_000);
    assert.equal(await client.sendFile(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { fileName: 'from-stream', fileSize: data.length }), data.length);
    assert.deepEqual(received.at(-1), { name: 'from-stream', bytes: 70_000, sha: sha256hex(data) });
  });

  test('a source shorter or longer than announced rejects; a stream without a size is refused', async () => {
    await assert.rejects(client.sendFile(Readable.from([Buffer.alloc(10)]), { fileName: 'short', fileSize: 20 }), (e: RpcxError) => e.code === 'INVALID_ARGUMENT' && /ended after 10/.test(e.message));
    await assert.rejects(client.sendFile(Readable.from([Buffer.alloc(30)]), { fileName: 'long', fileSize: 20 }), (e: RpcxError) => e.code === 'INVALID_ARGUMENT' && /longer/.test(e.message));
    await assert.rejects(client.sendFile(Readable.from([Buffer.alloc(1)])), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(client.sendFile('/no/such/file'), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
  });

  test('maxFileSize refuses before a byte is sent (LIMIT text from the server)', async () => {
    await assert.rejects(client.sendFile(Readable.from([]), { fileName: 'big', fileSize: 2 * 1024 * 1024 }), (e: RpcxError) => e.code === 'SERVICE' && /exceeds the limit/.test(e.message));
  });

  test('an aborted upload rejects CANCELLED (Go returns nil)', async () => {
    const ac = new AbortController();
    // An endless source: only the abort can end it.
    const endless = new Readable({ read() {
      this.push(Buffer.alloc(64 * 1024));
    } });
    const p = client.sendFile(endless, { fileName: 'aborted', fileSize: 1024 * 1024, signal: ac.signal, onProgress: (pr) => {
      if (pr.bytes >= 128 * 1024) ac.abort();
    } });
    await assert.rejects(p, (e: RpcxError) => e.code === 'CANCELLED');
  });

  test('a server that closes early rejects CONNECTION; one that never closes hits timeoutMs', async () => {
    await assert.rejects(client.sendFile(Readable.from([content(512 * 1024)]), { fileName: 'early-close', fileSize: 512 * 1024 }), (e: RpcxError) => e.code === 'CONNECTION');
    await assert.rejects(client.sendFile(Readable.from([Buffer.alloc(10)]), { fileName: 'hang', fileSize: 10, timeoutMs: 300 }), (e: RpcxError) => e.code === 'TIMEOUT');
  });

  test('downloads: timeoutMs and abort settle the call once', async () => {
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({ write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    } });
    await assert.rejects(client.downloadFile('slow', sink, { timeoutMs: 300 }), (e: RpcxError) => e.code === 'TIMEOUT');
    assert.equal(Buffer.concat(chunks).length, 10);
    const ac = new AbortController();
    const p = client.downloadFile('slow', new (await import('node:stream')).PassThrough().resume(), { signal: ac.signal, onProgress: () => ac.abort() });
    await assert.rejects(p, (e: RpcxError) => e.code === 'CANCELLED');
  });
});
