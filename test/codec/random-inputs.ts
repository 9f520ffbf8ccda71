/**
 * Deterministic fuzz inputs for codec decoders: alternately random bytes (up to 63) and `valid`
 * with some bytes flipped (each with probability 1/`flipEvery`). `count` inputs from `seed`.
 */
export function* randomInputs(seed: number, valid: Uint8Array, count: number, flipEvery: number): Generator<Uint8Array> {
  let s = seed;
  const rand = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s;
  };
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const buf = new Uint8Array(rand() % 64);
      for (let j = 0; j < buf.length; j++) buf[j] = rand() & 0xff;
      yield buf;
    } else {
      yield valid.map((b) => (rand() % flipEvery === 0 ? b ^ (rand() & 0xff) : b));
    }
  }
}
