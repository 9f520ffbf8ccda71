// Focused micro-benchmark of the server's request path (issue 15 point 6): Dispatcher.onMessage
// for a synchronous function, with no plugins and with synchronous request hooks
// (postReadRequest, preHandleRequest, preCall, postCall), through a fake connection, so the
// figure is the dispatch cost alone (no socket, no codec of the frame), per CPU second. Prints
// one JSON line.
//   node build/bench/dispatch.js [--ms 300] [--mode none|sync]
import { MsgpackCodec } from '../src/codec/msgpack.js';
import { defaultCodecRegistry } from '../src/codec/defaults.js';
import { SerializeType } from '../src/protocol/constants.js';
import { createMessage, type Message } from '../src/protocol/message.js';
import type { ServerConnection } from '../src/server/connection.js';
import { Dispatcher } from '../src/server/dispatch.js';
import { PluginContainer, type ServerPlugin } from '../src/server/plugins.js';
import { ServiceRegistry } from '../src/server/registry.js';
import type { ServerHandle } from '../src/server/types.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const ms = Number(arg('ms', '300'));
const mode = arg('mode', 'none');

const registry = new ServiceRegistry();
registry.registerFunction('Arith', (a: { A: number; B: number }) => ({ C: a.A * a.B }), 'Mul');
const plugins = new PluginContainer();
if (mode === 'sync') {
  const p: ServerPlugin = {
    postReadRequest: () => undefined,
    preHandleRequest: () => undefined,
    preCall: () => undefined,
    postCall: () => undefined,
  };
  plugins.add(p);
}
let sent = 0;
const conn = {
  remoteAddress: '127.0.0.1:1',
  readingStopped: false,
  noteRead() {},
  begin() {},
  end() {},
  send(_m: Message) {
    sent++;
    return undefined;
  },
  frames: { pauseReading() {}, resumeReading() {} },
  destroy() {},
  close() {},
  untrack() {},
} as unknown as ServerConnection;
const dispatcher = new Dispatcher({
  server: {} as ServerHandle,
  registry,
  codecs: defaultCodecRegistry(),
  plugins,
  authFunc: undefined,
  serverErrorFunc: undefined,
  handleServiceError: undefined,
});
const req = createMessage({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: SerializeType.MsgPack, payload: new MsgpackCodec().encode({ A: 6, B: 7 }) });

/**
 * Requests per second of this process's CPU time (user + system), not of wall time: on a shared
 * machine other processes steal the CPU, which wall time counts and CPU time does not.
 */
function run(windowMs: number): number {
  const cpu0 = process.cpuUsage();
  const end = performance.now() + windowMs;
  let n = 0;
  for (;;) {
    for (let i = 0; i < 1000; i++) dispatcher.onMessage(conn, req);
    n += 1000;
    if (performance.now() >= end) break;
  }
  const cpu = process.cpuUsage(cpu0);
  return n / ((cpu.user + cpu.system) / 1e6);
}

run(Math.min(200, ms)); // warm-up
const opsPerCpuSec = run(ms);
if (sent < 1) throw new Error('nothing dispatched');
console.log(JSON.stringify({ mode, opsPerCpuSec: Math.round(opsPerCpuSec) }));
