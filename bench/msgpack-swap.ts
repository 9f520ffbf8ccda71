// `node --import ./build/bench/msgpack-swap.js --test build/test/codec/msgpack.test.js` runs the
// MsgPack codec's tests against bench/msgpack-library.ts (the @msgpack/msgpack attempt of
// issue 4) instead of src/codec/msgpack.ts: every import of build/src/codec/msgpack.js resolves
// to build/bench/msgpack-library.js, except the library codec's own (it delegates to it).
import { register } from 'node:module';

register('./msgpack-swap-hooks.js', import.meta.url);
