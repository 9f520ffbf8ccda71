// npm run fuzz [-- seconds [seed]]: the decoder fuzzer for longer than npm test allows.
import { loadVectors } from '../support/vectors.js';
import { fuzzFrames } from './frame-fuzz.js';

const seconds = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const corpus = loadVectors().map((v) => Buffer.from(v.hex, 'hex'));
console.log(`fuzzing the frame decoder for ${seconds} s, seed ${seed}, corpus ${corpus.length} frames`);
const stats = fuzzFrames(corpus, seed, Number.MAX_SAFE_INTEGER, seconds * 1000);
console.log(`${stats.iterations} streams, ${stats.messages} messages decoded, max buffered ${stats.maxBuffered} bytes`);
for (const [k, n] of [...stats.errors].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${k}`);
console.log('no error other than RpcxError escaped');
