// Loads the golden vectors written by interop/go/cmd/vectors (see interop/VECTORS.md).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './go.js';

export interface VectorFields {
  version: number;
  messageType: number;
  heartbeat: boolean;
  oneway: boolean;
  compressType: number;
  messageStatusType: number;
  serializeType: number;
  seq: string;
  servicePathHex: string;
  servicePath?: string;
  serviceMethodHex: string;
  serviceMethod?: string;
  metadata: Array<[string, string]>;
  payloadHex?: string;
  payloadLength: number;
  payloadSha256: string;
  wirePayloadLength: number;
}

export interface Vector {
  name: string;
  hex: string;
  fields: VectorFields;
  value?: { case: string; goType: string; serializeType: number; canonical: unknown };
  note?: string;
  volatile?: string[];
  /** The file it came from. */
  file: string;
}

export const vectorsDir = join(repoRoot, 'interop', 'vectors');

/** Every vector of every file in `dir` (default interop/vectors), in file then name order. */
export function loadVectors(dir: string = vectorsDir): Vector[] {
  const out: Vector[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: Omit<Vector, 'file'>[] };
    for (const v of doc.vectors) out.push({ ...v, file });
  }
  return out;
}
