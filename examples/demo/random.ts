/**
 * Seeded randomness for the demo: the same seed replays the same fault
 * schedule, the same traffic and the same per-request draws. Pure: no Node
 * imports, no `Math.random`.
 */
import type { LatencyModel } from './types.js';

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: a tiny 32-bit PRNG, good enough for a demo's jitter and latencies. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/**
 * A 32-bit seed from several parts (FNV-1a over their UTF-8 text). The parts
 * are joined with a separator no id uses, so `('a1', 2)` and `('a', 12)` differ.
 */
export function hashSeed(...parts: (string | number)[]): number {
  let hash = FNV_OFFSET;
  for (const byte of utf8.encode(parts.join('\u001f'))) {
    hash = Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
  }
  return hash;
}

/** A standard normal draw (Box–Muller); uses two uniforms. */
export function standardNormal(random: Random): number {
  // 1 − u is in (0, 1], so the logarithm is finite.
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A log-normal latency in ms: `median · e^(sigma · z)`. */
export function logNormal(random: Random, model: LatencyModel): number {
  return model.medianMs * Math.exp(model.sigma * standardNormal(random));
}
