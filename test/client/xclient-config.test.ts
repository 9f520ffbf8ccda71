// Issue 15 point 1: an XClient's selector may be configured at any time — right after
// createXClient (Go's order: ConfigGeoSelector straight after NewXClient), while discovery has
// not answered yet, or after whenReady() — and the configured selector gets the servers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  MultipleServersDiscovery,
  SelectMode,
  createXClient,
  selectModeName,
  type KVPair,
  type Selector,
  type ServiceDiscovery,
  type ServerMap,
} from '../../src/client/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';

/** Two in-process servers answering `Who.Am` with their name; `near` sits at (10, 10), `far` at (80, 80). */
const servers: { near?: RpcxServer; far?: RpcxServer; pairs: KVPair[] } = { pairs: [] };

before(async () => {
  const start = async (name: string): Promise<[RpcxServer, string]> => {
    const s = createServer();
    s.registerFunction('Who', () => name, 'Am');
    return [s, await s.serve('tcp', '127.0.0.1:0')];
  };
  const [near, nearKey] = await start('near');
  const [far, farKey] = await start('far');
  servers.near = near;
  servers.far = far;
  // `far` sorts first for none of the modes to pick it by accident: the geo position and the
  // user selector both want `near`, so a call answered by `near` shows the configuration applied.
  servers.pairs = [
    { key: nearKey, value: 'latitude=10&longitude=10' },
    { key: farKey, value: 'latitude=80&longitude=80' },
  ];
});

after(async () => {
  await servers.near?.close();
  await servers.far?.close();
});

/** A discovery whose first getServices() waits until `release()` (to configure "during" discovery). */
function gatedDiscovery(pairs: KVPair[]): ServiceDiscovery & { release(): void; asked: Promise<void> } {
  let release!: () => void;
  let asked!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const askedP = new Promise<void>((r) => (asked = r));
  const d: ServiceDiscovery & { release(): void; asked: Promise<void> } = {
    getServices: async () => {
      asked();
      await gate;
      return pairs;
    },
    watch: () => undefined,
    clone: () => d,
    close: () => {},
    release,
    asked: askedP,
  };
  return d;
}

/** Picks the server whose metadata says latitude=10 (`near`). */
function nearSelector(): Selector & { updates: number } {
  let current: ServerMap = new Map();
  const sel = {
    updates: 0,
    select: (): string => [...current].find(([, v]) => v.startsWith('latitude=10&'))?.[0] ?? '',
    updateServer(s: ServerMap): void {
      current = s;
      sel.updates++;
    },
  };
  return sel;
}

const modes = [
  SelectMode.RandomSelect,
  SelectMode.RoundRobin,
  SelectMode.WeightedRoundRobin,
  SelectMode.WeightedICMP,
  SelectMode.ConsistentHash,
  SelectMode.Closest,
  SelectMode.SelectByUser,
] as const;
const whens = ['before', 'during', 'after'] as const;
const hows = ['configGeoSelector', 'setSelector'] as const;

describe('XClient: selector configured before, during and after discovery', () => {
  for (const mode of modes) {
    for (const how of hows) {
      for (const when of whens) {
        test(`${selectModeName(mode)}: ${how} ${when}`, async () => {
          const gated = gatedDiscovery(servers.pairs);
          const discovery = when === 'during' ? gated : new MultipleServersDiscovery(servers.pairs);
          const xc = createXClient('Who', {
            discovery,
            selectMode: mode,
            rttProbe: async () => 1, // WeightedICMP: no measuring needed
          });
          try {
            const configure = (): void => {
              if (how === 'configGeoSelector') xc.configGeoSelector(12, 12);
              else xc.setSelector(nearSelector());
            };
            if (when === 'before') configure();
            if (when === 'during') {
              await gated.asked;
              configure();
              gated.release();
            }
            if (when === 'after') {
              await xc.whenReady();
              configure();
            }
            // Several calls: a random or round-robin pick would reach `far` at least once.
            for (let i = 0; i < 6; i++) assert.equal(await xc.call('Am', {}, { timeoutMs: 5_000 }), 'near');
          } finally {
            await xc.close();
          }
        });
      }
    }
  }

  test('a call made before configuring waits for the servers and uses the configured selector', async () => {
    const gated = gatedDiscovery(servers.pairs);
    const xc = createXClient('Who', { discovery: gated, selectMode: SelectMode.Closest });
    try {
      const pending = xc.call('Am', {}, { timeoutMs: 5_000 });
      await gated.asked;
      xc.configGeoSelector(12, 12);
      gated.release();
      assert.equal(await pending, 'near');
    } finally {
      await xc.close();
    }
  });

  test('the user selector gets the first server list and later ones', async () => {
    const d = new MultipleServersDiscovery(servers.pairs);
    const xc = createXClient('Who', { discovery: d, selectMode: SelectMode.SelectByUser });
    const sel = nearSelector();
    try {
      xc.setSelector(sel); // before discovery: updateServer with the (still empty) list, then the real one
      await xc.whenReady();
      assert.equal(sel.updates, 2);
      assert.equal(await xc.call('Am', {}, { timeoutMs: 5_000 }), 'near');
      d.update(servers.pairs.slice(1)); // only `far` left: the selector finds nothing
      await waitFor(() => sel.updates === 3);
      await assert.rejects(xc.call('Am', {}, { timeoutMs: 5_000 }), { message: /can not found any server/ });
    } finally {
      await xc.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
