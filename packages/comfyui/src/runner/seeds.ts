import { randomBytes, randomInt } from 'node:crypto';

/** A seed. ComfyUI's seeds span 0 to 2^64 - 1 (KSampler's maximum), beyond JavaScript's exact numbers: those are bigints. */
export type Seed = number | bigint;

/** The largest seed ComfyUI takes. */
export const MAX_COMFY_SEED = 2n ** 64n - 1n;

const TWO_64 = 2n ** 64n;

/** A uniform random seed in 0..max (max at most MAX_COMFY_SEED); a number when it is exact as one. */
export function drawSeed(max: Seed): Seed {
  const top = BigInt(max);
  if (top < 0n || top > MAX_COMFY_SEED) throw new RangeError(`a seed lies in 0-${MAX_COMFY_SEED}, got a maximum of ${top}`);
  if (top < 2n ** 48n - 1n) return randomInt(0, Number(top) + 1);
  // 64 random bits, redrawn above the largest multiple of the range so that every seed is equally likely.
  const range = top + 1n;
  const limit = TWO_64 - (TWO_64 % range);
  for (;;) {
    const r = randomBytes(8).readBigUInt64BE();
    if (r < limit) {
      const seed = r % range;
      return seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed;
    }
  }
}

/** JSON.stringify that writes bigints as plain JSON integers, as ComfyUI (Python) reads them exactly. */
export function toJson(value: unknown, space?: number): string {
  const big: string[] = [];
  const text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `\u0000${big.push(v.toString()) - 1}\u0000` : v), space);
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_, i: string) => big[Number(i)]!);
}
