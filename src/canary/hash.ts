/** Buckets per slice: a percent is split in hundredths (0.01 % resolution). */
export const BUCKETS = 10_000;

/**
 * The stable bucket of a caller: FNV-1a (32 bit) of `salt` and `key`, modulo 10,000. The same
 * key and salt always give the same bucket, on every process and after restarts, so a caller
 * stays in its cohort for the whole canary; the salt (the candidate's hash) draws a different
 * slice for each canary.
 */
export function bucketOf(key: string, salt: string): number {
  return bucketer(salt)(key);
}

/**
 * `bucketOf` with the salt hashed once: the per-request cost is the key's characters only. A
 * canary keeps one for its candidate hash.
 */
export function bucketer(salt: string): (key: string) => number {
  let seed = 0x811c9dc5;
  const s = `${salt}\u0000`;
  for (let i = 0; i < s.length; i++) {
    seed ^= s.charCodeAt(i);
    seed = Math.imul(seed, 0x01000193);
  }
  return function bucket(key: string): number {
    let h = seed;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    // A final avalanche (murmur3 fmix32): FNV alone leaves the low bits poorly mixed for short keys.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) % BUCKETS;
  };
}

/** True when the key falls in the first `percent` of the buckets. */
export function inSlice(key: string, salt: string, percent: number): boolean {
  return bucketOf(key, salt) < Math.round(percent * 100);
}
