import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { request } from 'undici';
import type { GatewayMetrics } from '../observability/metrics.js';
import { CidrSet, parseCidr } from './ip.js';

/** One parsed list: the set, and the lines that were not addresses or CIDRs. */
export interface ParsedList {
  set: CidrSet;
  invalid: { line: number; text: string }[];
}

/** Parses a list: one address or CIDR per line; `#` starts a comment; blank lines are skipped. */
export function parseIpList(text: string, label: (cidr: string) => string = (c) => c): ParsedList {
  const set = new CidrSet();
  const invalid: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i].indexOf('#');
    const entry = (hash < 0 ? lines[i] : lines[i].slice(0, hash)).trim();
    if (!entry) continue;
    // Feeds often carry extra columns ("1.2.3.0/24 ; SBL123"): the first field is the entry.
    const field = entry.split(/[\s;,]+/)[0];
    const c = parseCidr(field);
    if (c) set.add(c, label(c.text));
    else invalid.push({ line: i + 1, text: field.slice(0, 80) });
  }
  return { set, invalid };
}

/** A file list read at compile time: a missing file or a bad line is a config error. */
export function readIpListFile(path: string): CidrSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read IP list ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const { set, invalid } = parseIpList(text, (c) => `${path}:${c}`);
  if (invalid.length)
    throw new Error(
      `IP list ${path}: not an address or CIDR at line ${invalid
        .slice(0, 5)
        .map((x) => `${x.line} ('${x.text}')`)
        .join(', ')}${invalid.length > 5 ? ` and ${invalid.length - 5} more` : ''}`,
    );
  return set;
}

export interface FeedSpec {
  url: string;
  refreshSeconds: number;
  timeoutMs: number;
}

interface Feed {
  spec: FeedSpec;
  set: CidrSet;
  loadedAt: number;
  refs: number;
  timer: NodeJS.Timeout | undefined;
  failing: boolean;
  /** Settles when the first load attempt ends (tests and start-up wait on it). */
  firstLoad: Promise<void>;
}

/**
 * HTTP threat-intelligence feeds, shared by every revision and policy that names the same URL
 * and refresh interval, so a policy change neither refetches nor loses a loaded list. Each
 * refresh swaps the whole set at once; a refresh that fails (network, status, no valid entry)
 * keeps the last good set, logs a warning once per failure streak and counts it.
 */
export class FeedRegistry {
  private readonly feeds = new Map<string, Feed>();
  private readonly failures;
  private readonly entries;

  constructor(
    private readonly logger: Logger,
    metrics: GatewayMetrics,
  ) {
    this.failures = metrics.counter(
      'portcullis_ip_feed_failures_total',
      'IP list feed refreshes that failed, by feed URL.',
      ['feed'],
    );
    this.entries = metrics.gauge(
      'portcullis_ip_feed_entries',
      'Entries in the last good copy of each IP list feed.',
      ['feed'],
    );
  }

  /** Starts using a feed; the returned `current()` is read per request, `release()` on dispose. */
  acquire(spec: FeedSpec): { current(): CidrSet; ready: Promise<void>; release(): void } {
    const key = `${spec.url}\0${spec.refreshSeconds}\0${spec.timeoutMs}`;
    let feed = this.feeds.get(key);
    if (!feed) {
      const f: Feed = {
        spec,
        set: new CidrSet(),
        loadedAt: 0,
        refs: 0,
        timer: undefined,
        failing: false,
        firstLoad: Promise.resolve(),
      };
      f.firstLoad = this.refresh(f);
      f.timer = setInterval(() => void this.refresh(f), spec.refreshSeconds * 1000);
      f.timer.unref();
      this.feeds.set(key, f);
      feed = f;
    }
    const f = feed;
    f.refs++;
    let released = false;
    return {
      current: () => f.set,
      ready: f.firstLoad,
      release: () => {
        if (released) return;
        released = true;
        if (--f.refs > 0) return;
        clearInterval(f.timer);
        this.feeds.delete(key);
      },
    };
  }

  close(): void {
    for (const f of this.feeds.values()) clearInterval(f.timer);
    this.feeds.clear();
  }

  private async refresh(f: Feed): Promise<void> {
    const { url, timeoutMs } = f.spec;
    try {
      const r = await request(url, {
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        maxRedirections: 0,
      } as never);
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      const parsed = parseIpList(text, (c) => `${url}:${c}`);
      if (parsed.set.size === 0) throw new Error(`no valid entry (${parsed.invalid.length} invalid lines)`);
      f.set = parsed.set;
      f.loadedAt = Date.now();
      this.entries.labels(url).set(parsed.set.size);
      if (f.failing) this.logger.info({ feed: url, entries: parsed.set.size }, 'IP feed recovered');
      f.failing = false;
      if (parsed.invalid.length)
        this.logger.warn({ feed: url, invalid: parsed.invalid.length }, 'IP feed has invalid lines; skipped');
    } catch (err) {
      this.failures.labels(url).inc();
      if (!f.failing)
        this.logger.warn(
          { feed: url, err: (err as Error).message, keeping: f.set.size },
          'IP feed refresh failed; keeping the last good list',
        );
      f.failing = true;
    }
  }
}
