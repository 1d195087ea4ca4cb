import type { RequestLogConfig } from '../config/schema.js';
import type { ConfigIssue } from '../core/errors.js';
import { compilePattern, type Pattern, RegexError } from '../regex/pattern.js';

/** Request-log settings, compiled once per revision: lowercase names, regexes built. */
export interface RecorderSettings {
  enabled: boolean;
  sampleRate: number;
  /** Header names kept (lowercase). */
  headers: readonly string[];
  /** Those of `headers` whose values are replaced by `***`. */
  masked: ReadonlySet<string>;
  body: BodySettings | undefined;
  maxAgeMs: number;
  maxRows: number;
  queueSize: number;
}

export interface BodySettings {
  maxBytes: number;
  /** Replaces the values of the masked fields (JSON and form bodies); undefined when none. */
  fieldsJson: RegExp | undefined;
  fieldsForm: RegExp | undefined;
  /** `maskPatterns`, on RE2: they run on every recorded body. */
  patterns: readonly Pattern[];
}

export const MASK = '***';

const DEFAULT_HEADERS = ['user-agent', 'content-type', 'content-length', 'accept', 'origin', 'referer'];

/**
 * Headers that carry credentials: never kept unless listed, and then masked. Besides the
 * well-known ones, any name that looks like it holds a key, token, secret or session.
 */
const SENSITIVE =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|key|token|secret|passw|session|signature|auth|credential/i;

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE.test(name);
}

const DISABLED: RecorderSettings = {
  enabled: false,
  sampleRate: 0,
  headers: [],
  masked: new Set(),
  body: undefined,
  maxAgeMs: 0,
  maxRows: 0,
  queueSize: 0,
};

/**
 * The compiled settings of a config's `gateway.requestLog`, built once per revision. A mask
 * pattern RE2 cannot run is added to `issues` by path (the revision is then refused).
 */
export function recorderSettings(
  cfg: RequestLogConfig | undefined,
  issues: ConfigIssue[] = [],
): RecorderSettings {
  if (!cfg?.enabled) return DISABLED;
  const headers = [...new Set((cfg.headers ?? DEFAULT_HEADERS).map((h) => h.toLowerCase()))];
  const b = cfg.captureBody;
  return {
    enabled: true,
    sampleRate: cfg.sampleRate ?? 1,
    headers,
    masked: new Set(headers.filter(isSensitiveHeader)),
    body: b?.enabled ? bodySettings(b, issues) : undefined,
    maxAgeMs: (cfg.retention?.maxAgeHours ?? 72) * 3_600_000,
    maxRows: cfg.retention?.maxRows ?? 1_000_000,
    queueSize: cfg.queueSize ?? 10_000,
  };
}

function bodySettings(b: NonNullable<RequestLogConfig['captureBody']>, issues: ConfigIssue[]): BodySettings {
  const fields = (b.maskFields ?? []).map(escapeRegExp);
  const alt = fields.join('|');
  return {
    maxBytes: b.maxBodyBytes ?? 4096,
    // "field": "value" | number | true/false/null — the value is replaced, the key kept.
    fieldsJson: fields.length
      ? new RegExp(
          `("(?:${alt})"\\s*:\\s*)(?:"(?:[^"\\\\]|\\\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)`,
          'gi',
        )
      : undefined,
    fieldsForm: fields.length ? new RegExp(`((?:^|&)(?:${alt})=)[^&]*`, 'gi') : undefined,
    patterns: (b.maskPatterns ?? []).flatMap((p, i) => {
      try {
        return [compilePattern(p)];
      } catch (e) {
        if (!(e instanceof RegexError)) throw e;
        issues.push({ path: `/gateway/requestLog/captureBody/maskPatterns/${i}`, message: e.message });
        return [];
      }
    }),
  };
}

/** Masks fields and patterns in the whole body, then caps it: a secret is never cut in half. */
export function maskBody(raw: Buffer, s: BodySettings): { text: string; truncated: boolean } {
  let text = raw.toString('utf8');
  if (s.fieldsJson) text = text.replace(s.fieldsJson, `$1"${MASK}"`);
  if (s.fieldsForm) text = text.replace(s.fieldsForm, `$1${MASK}`);
  for (const p of s.patterns) text = p.replace(text, () => MASK);
  if (Buffer.byteLength(text) <= s.maxBytes) return { text, truncated: false };
  return { text: Buffer.from(text).subarray(0, s.maxBytes).toString('utf8'), truncated: true };
}

const SENSITIVE_PARAM =
  /(^|&)([^=&]*(?:key|token|secret|passw|session|signature|auth|credential)[^=&]*)=[^&]*/gi;

/** Query parameters whose names look like credentials (`apikey`, `access_token`) get `***`. */
export function maskQuery(query: string): string {
  return query.replace(SENSITIVE_PARAM, `$1$2=${MASK}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
