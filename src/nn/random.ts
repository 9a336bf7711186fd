// The one seeded random generator of the project: the trainer's draws and
// every test's fixtures come from it, so a seed names a run exactly.

/**
 * mulberry32: a small, fast, well-mixed 32-bit generator. Returns a function
 * giving numbers in [0, 1).
 *
 * @example
 * const rand = rng(1);
 * const u = rand(); // the same first number for seed 1, every run
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
