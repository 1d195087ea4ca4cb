import { readFileSync, statSync } from 'node:fs';
import { type CountryResponse, Reader } from 'maxmind';

export interface CountryDb {
  /** ISO 3166-1 alpha-2 code of the address's country (or registered country), upper case. */
  country(ip: string): string | undefined;
}

const cache = new Map<string, { stamp: string; db: CountryDb }>();

/**
 * Opens a MaxMind DB (GeoIP2/GeoLite2 Country or City, or any MMDB with `country.iso_code`).
 * Read once and kept while the file is unchanged (same size and mtime), so a revision swap
 * does not re-read it. A missing or malformed file throws: a config error at compile time.
 */
export function openCountryDb(path: string): CountryDb {
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch (err) {
    throw new Error(
      `cannot read GeoIP database ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.db;
  let reader: Reader<CountryResponse>;
  try {
    reader = new Reader<CountryResponse>(readFileSync(path));
  } catch (err) {
    throw new Error(`GeoIP database ${path} is not a valid MaxMind DB: ${(err as Error).message}`);
  }
  const db: CountryDb = {
    country(ip) {
      try {
        const r = reader.get(ip);
        return (r?.country?.iso_code ?? r?.registered_country?.iso_code)?.toUpperCase();
      } catch {
        return undefined;
      }
    },
  };
  cache.set(path, { stamp, db });
  return db;
}
