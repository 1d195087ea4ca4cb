/** Request body parsing for validation: JSON, urlencoded forms and multipart forms. XML is never parsed. */

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'xml' | 'other';

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const t = header.split(';')[0].trim().toLowerCase();
  return t || undefined;
}

export function bodyKind(type: string): BodyKind {
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'xml';
  if (type.startsWith('text/')) return 'text';
  return 'other';
}

/** Picks the documented media type for a request's: exact, then `type/*`, then `*\/*`. */
export function pickMedia<T>(content: ReadonlyMap<string, T>, type: string): T | undefined {
  return content.get(type) ?? content.get(`${type.split('/')[0]}/*`) ?? content.get('*/*');
}

/** Form fields: a name sent once is a string, several times an array. */
export function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) add(out, k, v);
  return { ...out };
}

function add(out: Record<string, string | string[]>, k: string, v: string): void {
  const cur = out[k];
  if (cur === undefined) out[k] = v;
  else if (Array.isArray(cur)) cur.push(v);
  else out[k] = [cur, v];
}

/**
 * A multipart/form-data body as fields: text parts as strings, file parts as their content in
 * latin1 (one character per byte, so `maxLength` bounds bytes). Returns undefined when the body
 * is not well-formed multipart.
 */
export function parseMultipart(
  body: Buffer,
  contentType: string,
): Record<string, string | string[]> | undefined {
  const m = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delim = Buffer.from(`--${boundary}`);
  const out: Record<string, string | string[]> = Object.create(null);
  let pos = body.indexOf(delim);
  if (pos < 0) return undefined;
  let closed = false;
  for (let parts = 0; parts < 1000; parts++) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) {
      closed = true;
      break;
    }
    if (body[pos] === 0x0d) pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return undefined;
    const head = body.subarray(pos, headEnd).toString('latin1');
    const next = body.indexOf(delim, headEnd + 4);
    if (next < 0) return undefined;
    const content = body.subarray(headEnd + 4, next - 2);
    const disp = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(head);
    if (disp) {
      const isFile = /content-disposition:[^\r\n]*?\bfilename\*?=/i.test(head);
      add(out, disp[1], content.toString(isFile ? 'latin1' : 'utf8'));
    }
    pos = next;
  }
  return closed ? { ...out } : undefined;
}
