/**
 * A `number` to be sent as a Go `float32` (Go kind `float32`): MsgPack writes it as `ca`
 * (vmihailenco refuses a float64 `cb` for a `float32` field: `msgpack: invalid code=cb decoding
 * float32`) and JSON writes the shortest text that reads back as the same float32, as Go does.
 */
export class Float32 {
  /** The value, rounded to float32 precision. */
  readonly value: number;
  constructor(value: number) {
    this.value = Math.fround(value);
  }
  valueOf(): number {
    return this.value;
  }
}

/**
 * A `number` to be sent as a Go `float64` even when it is integral: MsgPack writes `cb` (a plain
 * integral `number` is written as the smallest integer, like Go `int`), JSON writes Go's float
 * text (the same as for a plain `number`).
 */
export class Float64 {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  valueOf(): number {
    return this.value;
  }
}

/** Sets an own property, so a `__proto__` key can never replace the prototype. @internal */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
