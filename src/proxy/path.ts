/**
 * Path normalisation: what the gateway routes on is what it forwards, and a path an upstream
 * could read as another route's is refused or mapped to that route. The options and the threat
 * each answers are in docs/hardening.md ("Path normalisation").
 */

/** How one route (or the gateway by default) treats the parts of a path upstreams disagree on. */
export interface PathOptions {
  /** `//` is `/` (nginx `merge_slashes`). */
  readonly mergeSlashes: boolean;
  /** `%2F` and `%5C`: refuse, decode (to `/` and `\`), or forward as they are. */
  readonly escapedSlashes: 'reject' | 'decode' | 'keep';
  /** A raw `\`: refuse, take as `/` (IIS, Windows), or forward it. */
  readonly backslashes: 'reject' | 'slash' | 'keep';
  /** Matrix parameters (`/a;jsessionid=1/b`): refuse, remove (Tomcat), or forward. */
  readonly pathParams: 'reject' | 'strip' | 'keep';
  /** A segment ending in `.` or an encoded space (`/admin.`, `/admin%20`, which Windows drops). */
  readonly trailingDotOrSpace: 'reject' | 'strip' | 'keep';
  /** Match the route's paths in any letter case (for case-folding upstreams: IIS). */
  readonly caseInsensitive: boolean;
}

/** The defaults: refuse every spelling some upstream reads differently from the gateway. */
export const DEFAULT_PATH_OPTIONS: PathOptions = Object.freeze({
  mergeSlashes: true,
  escapedSlashes: 'reject',
  backslashes: 'reject',
  pathParams: 'reject',
  trailingDotOrSpace: 'reject',
  caseInsensitive: false,
});

/**
 * The most lenient upstream's reading of a path: every separator an upstream may take for one is
 * one, parameters and trailing dots are dropped. Requests are routed on this first, so that the
 * route whose policies apply is the one such an upstream would serve.
 */
export const CANONICAL: PathOptions = Object.freeze({
  mergeSlashes: true,
  escapedSlashes: 'decode',
  backslashes: 'slash',
  pathParams: 'strip',
  trailingDotOrSpace: 'strip',
  caseInsensitive: false,
});

/** Why a path was refused (a value, not an exception: it is the client's fault). */
export class PathRefusal {
  constructor(readonly reason: string) {}
}

/**
 * True when a path may need normalising or refusing. One scan, no allocation: an ordinary path
 * (`/hello/world`) has no `%`, `;`, `\`, control character, `//` or dot at a segment's end.
 */
export function needsNormalizing(p: string): boolean {
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c === 0x25 || c === 0x3b || c === 0x5c || c <= 0x20 || c === 0x7f) return true;
    if ((c === 0x2f || c === 0x2e) && (i + 1 === n ? c === 0x2e : p.charCodeAt(i + 1) === 0x2f)) return true;
  }
  return false;
}

const HEX = /^[0-9A-Fa-f]{2}$/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HIDDEN_SEPARATOR = /%2F|%5C|\\|;/;
const DOTS_AND_SPACES = /^(?:\.|%20)+$/;
const TRAILING_DOTS_AND_SPACES = /(?:\.|%20)+$/;

/**
 * Normalises a request path (without its query) under `o`: percent-encoding checked and
 * unreserved characters decoded (`%61dmin` is `admin`, `%2e` is `.`), remaining escapes in upper
 * case, then escaped slashes, backslashes, path parameters, trailing dots and spaces, empty
 * segments and dot segments (RFC 3986 §5.2.4) as the options say. Always refused: control
 * characters raw or encoded (`%00`...`%1F`, `%7F`), invalid percent-encoding or UTF-8, a path
 * that climbs above the root, a segment of dots and spaces only (`...`, `.%20`), and a dot
 * segment hidden behind a separator that is kept (`..%2F`, `..\`, `..;x`).
 */
export function normalizePath(path: string, o: PathOptions): string | PathRefusal {
  let s = decodePercent(path, o.escapedSlashes);
  if (s instanceof PathRefusal) return s;
  if (s.includes('\\')) {
    if (o.backslashes === 'reject') return new PathRefusal('backslash in path');
    if (o.backslashes === 'slash') s = s.replaceAll('\\', '/');
  }
  const segs = s.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const last = i === segs.length - 1;
    let seg = segs[i];
    const semi = seg.indexOf(';');
    if (semi >= 0) {
      if (o.pathParams === 'reject') return new PathRefusal('path parameter (;) in path');
      if (o.pathParams === 'strip') seg = seg.slice(0, semi);
    }
    if (seg !== '.' && seg !== '..' && (seg.endsWith('.') || seg.endsWith('%20'))) {
      if (DOTS_AND_SPACES.test(seg)) return new PathRefusal('segment of dots and spaces');
      if (o.trailingDotOrSpace === 'reject') return new PathRefusal('segment ends with a dot or space');
      if (o.trailingDotOrSpace === 'strip') seg = seg.replace(TRAILING_DOTS_AND_SPACES, '');
    }
    if (seg === '' && o.mergeSlashes && !last) continue;
    if (seg === '.' || seg === '..') {
      if (seg === '..') {
        if (out.length === 0) return new PathRefusal('path climbs above the root');
        out.pop();
      }
      if (last) out.push('');
      continue;
    }
    if (HIDDEN_SEPARATOR.test(seg) && seg.split(HIDDEN_SEPARATOR).some((p) => p === '.' || p === '..'))
      return new PathRefusal('dot segment hidden behind a separator');
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Checks and decodes escapes: unreserved characters and (when asked) escaped slashes. */
function decodePercent(path: string, slashes: PathOptions['escapedSlashes']): string | PathRefusal {
  let out = '';
  let from = 0;
  let high = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return new PathRefusal('control character in path');
    if (c !== 0x25) continue;
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return new PathRefusal('invalid percent-encoding in path');
    const v = Number.parseInt(hex, 16);
    if (v < 0x20 || v === 0x7f) return new PathRefusal('encoded control character in path');
    let rep: string;
    const ch = String.fromCharCode(v);
    if (v === 0x2f || v === 0x5c) {
      if (slashes === 'reject') return new PathRefusal('encoded slash in path');
      rep = slashes === 'decode' ? ch : `%${hex.toUpperCase()}`;
    } else if (v < 0x80 && UNRESERVED.test(ch)) rep = ch;
    else {
      rep = `%${hex.toUpperCase()}`;
      if (v >= 0x80) high = true;
    }
    out += path.slice(from, i) + rep;
    from = i + 3;
    i += 2;
  }
  out += path.slice(from);
  if (high) {
    try {
      decodeURIComponent(out);
    } catch {
      // Invalid UTF-8, overlong forms included (`%C0%AF`, the IIS "unicode" slash).
      return new PathRefusal('invalid percent-encoding in path');
    }
  }
  return out;
}
