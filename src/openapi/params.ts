import type { IncomingHttpHeaders } from 'node:http';

export type ParamIn = 'path' | 'query' | 'header' | 'cookie';

/** A parameter, compiled: how to read it off the wire. */
export interface ParamDef {
  name: string;
  in: ParamIn;
  required: boolean;
  style: string;
  explode: boolean;
  /** The shape of its schema: decides how the text is split. */
  shape: 'primitive' | 'array' | 'object';
  /** Object properties, for `form`+explode and `deepObject`. */
  props: string[];
  /** Serialised as a media type (`content: {application/json: ...}`): parsed as JSON. */
  json: boolean;
}

const DEFAULT_STYLE: Record<ParamIn, string> = {
  path: 'simple',
  query: 'form',
  header: 'simple',
  cookie: 'form',
};

export function paramDef(p: Record<string, unknown>, schema: Record<string, unknown> | undefined): ParamDef {
  const where = p.in as ParamIn;
  const style = typeof p.style === 'string' ? p.style : DEFAULT_STYLE[where];
  const types = schema ? ([] as unknown[]).concat(schema.type ?? []) : [];
  const shape = types.includes('array') ? 'array' : types.includes('object') ? 'object' : 'primitive';
  return {
    name: String(p.name),
    in: where,
    required: where === 'path' || p.required === true,
    style,
    explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
    shape,
    props: schema?.properties && typeof schema.properties === 'object' ? Object.keys(schema.properties) : [],
    json: !schema && !!p.content,
  };
}

/** Query string → decoded values by name (`+` is a space), in order. */
export function parseQuery(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!raw) return out;
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decode(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

export function parseCookies(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = decode(part.slice(eq + 1).trim(), false);
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

function decode(s: string, plus = true): string {
  const t = plus ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

/** `k,v,k,v` → `{k: v}`; with explode, `k=v,k=v`. */
function objectFrom(parts: string[], explode: boolean): Record<string, string> {
  const o: Record<string, string> = {};
  if (explode)
    for (const p of parts) {
      const eq = p.indexOf('=');
      if (eq > 0) o[p.slice(0, eq)] = p.slice(eq + 1);
    }
  else for (let i = 0; i + 1 < parts.length; i += 2) o[parts[i]] = parts[i + 1];
  return o;
}

/** One text value in `simple`/`form` shape (comma-separated lists and objects). */
function fromDelimited(text: string, d: ParamDef, sep = ','): unknown {
  if (d.json) return parseJson(text);
  if (d.shape === 'array') return text === '' ? [] : text.split(sep);
  if (d.shape === 'object') return objectFrom(text.split(sep), d.explode && d.style === 'simple');
  return text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Marks a parameter sent more than once where one value is expected (HTTP parameter pollution). */
export const REPEATED = Symbol('repeated');

export interface RawRequest {
  pathParams: Record<string, string>;
  query: ReadonlyMap<string, string[]>;
  headers: IncomingHttpHeaders;
  cookies: Map<string, string[]>;
}

/**
 * Reads one parameter off the request with its style and explode rules. Returns undefined when
 * absent and REPEATED when a single value was sent several times.
 */
export function readParam(d: ParamDef, r: RawRequest): unknown {
  switch (d.in) {
    case 'path': {
      const raw = r.pathParams[d.name];
      if (raw === undefined) return undefined;
      if (d.style === 'label') {
        const body = raw.startsWith('.') ? raw.slice(1) : raw;
        return fromDelimited(decode(body, false), d, d.explode ? '.' : ',');
      }
      if (d.style === 'matrix') {
        const prefix = `;${d.name}=`;
        if (d.shape === 'array' && d.explode)
          return raw
            .split(';')
            .slice(1)
            .map((p) => decode(p.slice(p.indexOf('=') + 1), false));
        return fromDelimited(decode(raw.startsWith(prefix) ? raw.slice(prefix.length) : raw, false), d);
      }
      // simple: split on the encoded text's commas, then decode each piece.
      if (d.json) return parseJson(decode(raw, false));
      if (d.shape === 'primitive') return decode(raw, false);
      const parts = raw.split(',').map((x) => decode(x, false));
      return d.shape === 'array' ? parts : objectFrom(parts, d.explode);
    }
    case 'query': {
      if (d.style === 'deepObject') {
        const o: Record<string, string> = {};
        let any = false;
        for (const [k, vs] of r.query)
          if (k.startsWith(`${d.name}[`) && k.endsWith(']')) {
            o[k.slice(d.name.length + 1, -1)] = vs[0];
            any = true;
          }
        return any ? o : undefined;
      }
      if (d.shape === 'object' && d.explode && !d.json) {
        const o: Record<string, string> = {};
        let any = false;
        for (const p of d.props) {
          const v = r.query.get(p);
          if (v) {
            o[p] = v[0];
            any = true;
          }
        }
        return any ? o : undefined;
      }
      const vs = r.query.get(d.name);
      if (!vs) return undefined;
      if (d.shape === 'array' && d.explode && !d.json) return vs;
      if (vs.length > 1) return REPEATED;
      const sep = d.style === 'spaceDelimited' ? ' ' : d.style === 'pipeDelimited' ? '|' : ',';
      return fromDelimited(vs[0], d, sep);
    }
    case 'header': {
      const v = r.headers[d.name.toLowerCase()];
      if (v === undefined) return undefined;
      if (Array.isArray(v))
        return d.shape === 'array' ? v.flatMap((x) => x.split(',').map((s) => s.trim())) : REPEATED;
      return d.shape === 'array' ? v.split(',').map((s) => s.trim()) : fromDelimited(v, d);
    }
    case 'cookie': {
      const vs = r.cookies.get(d.name);
      if (!vs) return undefined;
      if (vs.length > 1) return REPEATED;
      return fromDelimited(vs[0], d);
    }
  }
}
