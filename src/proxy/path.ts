const HIDDEN_SEPARATOR = /%2f|%5c|\\|;/i;

/**
 * Removes `.` and `..` segments (RFC 3986 §5.2.4), treating percent-encoded dots as dots, so
 * that `/public/%2e%2e/admin` routes (and is forwarded) as `/admin`. Returns undefined for a
 * path that would climb above the root, and for one that hides a dot segment behind an encoded
 * slash, a backslash or a path parameter (`/public/..%2fadmin`, `/public/..\admin`,
 * `/public/..;/admin`): an upstream that decodes `%2f`, takes `\` for `/` or drops `;...` (Tomcat)
 * would climb out of the route's prefix.
 */
export function normalizePath(path: string): string | undefined {
  if (!path.includes('.') && !/%2e/i.test(path)) return path;
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i].replace(/%2e/gi, '.');
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (HIDDEN_SEPARATOR.test(s) && s.split(/%2f|%5c|\\|;/i).some((p) => p === '.' || p === '..'))
      return undefined;
    out.push(segs[i]);
  }
  return `/${out.join('/')}`;
}

/** A request id we accept from a client: short and made of safe characters. */
export function acceptableRequestId(v: string | string[] | undefined): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 200 && /^[A-Za-z0-9._:+/=-]+$/.test(v);
}
