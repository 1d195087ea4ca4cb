/** A compiled `METHOD /path` permission. */
export interface Permission {
  text: string;
  /** undefined: any method. */
  methods: ReadonlySet<string> | undefined;
  path: RegExp;
}

const METHOD = /^[A-Z]+$/;

/**
 * Parses `GET /orders/*`, `GET,POST /carts/**` or `* /admin/**`. In the path, a `*` segment
 * matches exactly one non-empty segment, a `**` segment any number of segments (none too), and
 * a `*` inside a segment (`v*`) any characters but `/`. Throws a readable error.
 */
export function parsePermission(text: string): Permission {
  const m = /^\s*(\S+)\s+(\/\S*)\s*$/.exec(text);
  if (!m) throw new Error(`'${text}' is not 'METHOD /path' (e.g. 'GET /orders/*')`);
  let methods: Set<string> | undefined;
  if (m[1] !== '*') {
    methods = new Set(m[1].split(','));
    for (const x of methods)
      if (!METHOD.test(x)) throw new Error(`'${x}' in '${text}' is not an upper-case HTTP method or '*'`);
  }
  return { text: text.trim(), methods, path: pathPattern(m[2]) };
}

/** A path pattern as an anchored regular expression. */
export function pathPattern(pattern: string): RegExp {
  const segments = pattern.split('/').slice(1);
  let re = '';
  for (const s of segments) {
    if (s === '**') re += '(?:/[^/]*)*';
    else if (s === '*') re += '/[^/]+';
    else if (s.includes('**')) throw new Error(`'**' must be a whole path segment in '${pattern}'`);
    else re += `/${s.split('*').map(escapeRegExp).join('[^/]*')}`;
  }
  return new RegExp(`^${re}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function permits(p: Permission, method: string, path: string): boolean {
  return (p.methods === undefined || p.methods.has(method)) && p.path.test(path);
}
