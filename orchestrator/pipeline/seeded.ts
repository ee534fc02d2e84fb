// Seeded, deterministic decisions that resume depends on: which prompt an image gets, how items are
// cut into request chunks, the seed of each chunk, the contrast data order. None depends on what
// already finished.
import { createHash } from "node:crypto";

/** A stable choice in [0, n) from the run seed and a key (an image id): same inputs, same pick. */
export function seededIndex(seed: number, key: string, n: number): number {
  const digest = createHash("sha256").update(`${seed}\u0000${key}`).digest();
  return digest.readUInt32BE(0) % n;
}

export function renderPrompt(template: string, k: number): string {
  return template.replaceAll("{k}", String(k));
}

/**
 * Fixed chunks over the full, sorted item list. A chunk is re-sent whole when any of its items is
 * missing, so a resumed run sends exactly the requests an uninterrupted run sent (same batch, same
 * seed, same sampled text), and only the missing items' results are appended.
 */
export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Per-chunk sampling seed: distinct per stage and chunk, reproducible. */
export function chunkSeed(seed: number, stage: string, index: number): number {
  return seededIndex(seed, `${stage}#${index}`, 2 ** 31 - 1);
}

/** A seeded permutation (Fisher-Yates over a sha256-based stream), for the contrast data order. */
export function seededPermutation(n: number, seed: number, salt: string): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = seededIndex(seed, `${salt}#${i}`, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
