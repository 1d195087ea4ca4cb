import type { IncomingHttpHeaders } from 'node:http';
import type { Location } from './rules.js';

/** One value to inspect: where it came from, its name, and its raw text. */
export interface Target {
  location: Location;
  name: string;
  value: string;
  /** Form encoding: `+` means space. */
  plus?: boolean;
}

/** Headers whose values are structural or opaque and not worth inspecting. */
const SKIP_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'accept-encoding',
  'authorization',
  'proxy-authorization',
  'x-request-id',
  'traceparent',
  'tracestate',
  'if-none-match',
  'if-match',
  'keep-alive',
  'te',
  'transfer-encoding',
  'content-encoding',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
  'sec-ch-ua-mobile',
  'upgrade-insecure-requests',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'forwarded',
  'cookie',
  'x-api-key',
  'content-md5',
  'digest',
  'signature',
]);

/** Splits `a=1&b=2` into name/value targets (names are targets too). */
export function formTargets(raw: string, location: Location, out: Target[]): void {
  if (!raw) return;
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    const shortName = decodeName(name);
    if (name) out.push({ location: 'name', name: shortName, value: name, plus: true });
    if (value) out.push({ location, name: shortName, value, plus: true });
    else if (eq < 0 && name) out.push({ location, name: shortName, value: name, plus: true });
  }
}

function decodeName(n: string): string {
  try {
    return decodeURIComponent(n.replace(/\+/g, ' ')).slice(0, 100);
  } catch {
    return n.slice(0, 100);
  }
}

export function headerTargets(headers: IncomingHttpHeaders, out: Target[]): void {
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (name === 'cookie') {
      for (const c of String(v).split(';')) {
        const eq = c.indexOf('=');
        const cn = (eq < 0 ? c : c.slice(0, eq)).trim();
        const cv = eq < 0 ? '' : c.slice(eq + 1).trim();
        if (cn) out.push({ location: 'name', name: `cookie:${cn}`, value: cn });
        if (cv) out.push({ location: 'cookie', name: cn, value: cv });
      }
      continue;
    }
    if (SKIP_HEADERS.has(name)) continue;
    const values = Array.isArray(v) ? v : [v];
    for (const value of values) if (value) out.push({ location: 'header', name, value });
  }
}

/** JSON at every depth: keys as names, strings as values, under their JSON path. */
export function jsonTargets(v: unknown, path: string, out: Target[], depth = 0): void {
  if (depth > 64) return;
  if (typeof v === 'string') out.push({ location: 'body', name: path, value: v });
  else if (Array.isArray(v))
    for (let i = 0; i < v.length; i++) jsonTargets(v[i], `${path}[${i}]`, out, depth + 1);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const name = `${path}.${k}`;
      out.push({ location: 'name', name, value: k });
      jsonTargets(o[k], path ? name : k, out, depth + 1);
    }
  }
}

/** multipart/form-data: each part's name, filename and (text) content. Undefined when malformed. */
export function multipartTargets(body: Buffer, contentType: string, out: Target[]): boolean {
  const m = /boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  if (!m) return false;
  const boundary = `--${m[1] ?? m[2]}`;
  const text = body.toString('latin1');
  const parts = text.split(boundary);
  if (parts.length < 2) return false;
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) break;
    const sep = part.search(/\r?\n\r?\n/);
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    let content = part
      .slice(sep)
      .replace(/^\r?\n\r?\n/, '')
      .replace(/\r?\n$/, '');
    const name = /\bname="([^"]*)"/i.exec(head)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(head)?.[1];
    const decodedName = Buffer.from(name, 'latin1').toString('utf8');
    if (name) out.push({ location: 'name', name: decodedName.slice(0, 100), value: decodedName });
    if (filename)
      out.push({
        location: 'name',
        name: `${decodedName}:filename`,
        value: Buffer.from(filename, 'latin1').toString('utf8'),
      });
    const ctype = /content-type:\s*([^\r\n;]+)/i.exec(head)?.[1]?.toLowerCase() ?? 'text/plain';
    if (!/^(?:text\/|application\/(?:json|xml|x-www-form-urlencoded|javascript))/.test(ctype)) continue;
    content = Buffer.from(content, 'latin1').toString('utf8');
    out.push({ location: 'body', name: decodedName.slice(0, 100), value: content });
  }
  return true;
}

/** XML: the whole document (for DOCTYPE and entity rules) and each text node and attribute value. */
export function xmlTargets(text: string, out: Target[]): void {
  out.push({ location: 'body', name: 'xml', value: text });
  const re = />([^<]{1,100000})</g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const t = m[1].trim();
    if (t) out.push({ location: 'body', name: 'xml:text', value: t });
  }
}
