/**
 * Matches request paths against OpenAPI path templates (`/users/{id}`, `/files/{name}.{ext}`).
 * Concrete paths win over templated ones (`/users/me` before `/users/{id}`), as the OpenAPI
 * specification asks. Built once per revision; a lookup compares segments only.
 */
type Segment = { literal: string } | { re: RegExp; names: string[] };

interface Entry<T> {
  template: string;
  segments: Segment[];
  literals: number;
  value: T;
}

export interface PathMatch<T> {
  template: string;
  value: T;
  /** Raw (still percent-encoded) path parameters. */
  params: Record<string, string>;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class PathMatcher<T> {
  private readonly bySize = new Map<number, Entry<T>[]>();

  constructor(entries: Iterable<[string, T]>) {
    for (const [template, value] of entries) {
      const parts = template.split('/').slice(1);
      const segments: Segment[] = parts.map((p) => {
        if (!p.includes('{')) return { literal: p };
        const names: string[] = [];
        const src = p
          .split(/(\{[^}]+\})/)
          .map((piece) => {
            const m = /^\{([^}]+)\}$/.exec(piece);
            if (!m) return escapeRe(piece);
            names.push(m[1]);
            return '([^/]+)';
          })
          .join('');
        return { re: new RegExp(`^${src}$`), names };
      });
      const e: Entry<T> = {
        template,
        segments,
        literals: segments.filter((s) => 'literal' in s).length,
        value,
      };
      const list = this.bySize.get(segments.length) ?? [];
      list.push(e);
      this.bySize.set(segments.length, list);
    }
    for (const list of this.bySize.values()) list.sort((a, b) => b.literals - a.literals);
  }

  match(path: string): PathMatch<T> | undefined {
    const parts = path.split('/').slice(1);
    // A trailing slash is the same resource (`/users/` ~ `/users`).
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    const list = this.bySize.get(parts.length);
    if (!list) return undefined;
    outer: for (const e of list) {
      let params: Record<string, string> | undefined;
      for (let i = 0; i < parts.length; i++) {
        const s = e.segments[i];
        if ('literal' in s) {
          if (s.literal !== parts[i]) continue outer;
          continue;
        }
        const m = s.re.exec(parts[i]);
        if (!m) continue outer;
        params ??= {};
        for (let j = 0; j < s.names.length; j++) params[s.names[j]] = m[j + 1];
      }
      return { template: e.template, value: e.value, params: params ?? {} };
    }
    return undefined;
  }
}

/** `/users/{id}` → `/users/:id` for the gateway's router; templates inside a segment become `*`-free params too. */
export function toRoutePath(template: string): string {
  return template
    .split('/')
    .map((seg) => {
      const whole = /^\{([^}]+)\}$/.exec(seg);
      if (whole) return `:${whole[1].replace(/[^A-Za-z0-9_]/g, '_')}`;
      // `{name}.json`: find-my-way cannot mix text and a parameter safely; take the whole segment.
      if (seg.includes('{')) return `:${seg.replace(/\{([^}]+)\}/g, '$1').replace(/[^A-Za-z0-9_]/g, '_')}`;
      return seg;
    })
    .join('/');
}
