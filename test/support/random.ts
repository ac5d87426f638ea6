/**
 * mulberry32: a small seeded PRNG, so a failing schedule or jitter can be
 * replayed from its seed. Values are in (0, 1): never 0, so no backoff drawn
 * from it is ever zero.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4_294_967_296;
  };
}
