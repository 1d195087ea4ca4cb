import { isUtf8 } from 'node:buffer';

/**
 * Normalisation for the WAF: turns one raw value into the few decoded forms the rules run on.
 * Every step is linear in the input and bounded in the number of passes.
 */

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  colon: ':',
  lpar: '(',
  rpar: ')',
  tab: '\t',
  newline: '\n',
  equals: '=',
  sol: '/',
  bsol: '\\',
  period: '.',
  comma: ',',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  semi: ';',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lcub: '{',
  rcub: '}',
  lbrace: '{',
  rbrace: '}',
  grave: '`',
  nbsp: ' ',
  plus: '+',
  ast: '*',
  quest: '?',
  verbar: '|',
  vert: '|',
  hyphen: '-',
  lowbar: '_',
  commat: '@',
  hat: '^',
  nl: '\n',
};

const ENTITY = /&(?:#[xX]([0-9a-fA-F]{1,8});?|#0*([0-9]{1,8});?|([a-zA-Z]{2,8});)/g;

/** Decodes HTML entities, also numeric ones without `;` and with leading zeros. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(
    ENTITY,
    (m, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
      if (hex !== undefined) return safeChar(Number.parseInt(hex, 16), m);
      if (dec !== undefined) return safeChar(Number.parseInt(dec, 10), m);
      const v = NAMED_ENTITIES[(name as string).toLowerCase()];
      return v ?? m;
    },
  );
}

function safeChar(cp: number, fallback: string): string {
  return cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : fallback;
}

const PERCENT = /%(?:u([0-9a-fA-F]{4})|([0-9a-fA-F]{2}))/g;

/**
 * One pass of percent-decoding that never throws: `%XX` sequences become bytes decoded as UTF-8,
 * overlong forms (`%c0%ae` for `.`, `%c0%af` for `/`) are folded to their ASCII meaning, `%uXXXX`
 * (IIS) is understood, and an invalid escape is left as it is.
 */
export function percentDecode(s: string, plusAsSpace = false): string {
  if (plusAsSpace && s.includes('+')) s = s.replace(/\+/g, ' ');
  if (!s.includes('%')) return s;
  let out = '';
  let bytes: number[] = [];
  let last = 0;
  const flush = () => {
    if (bytes.length) out += utf8Lenient(bytes);
    bytes = [];
  };
  PERCENT.lastIndex = 0;
  for (let m = PERCENT.exec(s); m; m = PERCENT.exec(s)) {
    if (m.index !== last) {
      flush();
      out += s.slice(last, m.index);
    }
    if (m[1] !== undefined) {
      flush();
      out += String.fromCharCode(Number.parseInt(m[1], 16));
    } else bytes.push(Number.parseInt(m[2] as string, 16));
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}

/** UTF-8 that folds overlong two- and three-byte forms to the ASCII they hide. */
function utf8Lenient(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x80) out += String.fromCharCode(b);
    else if (b >= 0xc0 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
      out += String.fromCharCode(((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f));
      i += 1;
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length) {
      out += String.fromCharCode(((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f));
      i += 2;
    } else if (b >= 0xf0 && i + 3 < bytes.length) {
      out += safeChar(
        ((b & 0x07) << 18) |
          ((bytes[i + 1] & 0x3f) << 12) |
          ((bytes[i + 2] & 0x3f) << 6) |
          (bytes[i + 3] & 0x3f),
        '\ufffd',
      );
      i += 3;
    } else out += '\ufffd';
  }
  return out;
}

const JS_ESCAPE = /\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-7]{3}))/g;

/** JavaScript / JSON escapes: `\u0027`, `\u{27}`, `\x27`, `\047`. */
export function decodeJsEscapes(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(JS_ESCAPE, (m, brace?: string, u?: string, x?: string, oct?: string) => {
    const cp = Number.parseInt(brace ?? u ?? x ?? '', 16);
    if (oct !== undefined) return String.fromCharCode(Number.parseInt(oct, 8));
    return safeChar(cp, m);
  });
}

/** Up to `max` rounds of URL, entity and escape decoding, until the value stops changing. */
export function decodeRepeatedly(s: string, plusAsSpace: boolean, max = 4): string {
  let cur = s;
  for (let i = 0; i < max; i++) {
    const next = decodeJsEscapes(decodeEntities(percentDecode(cur, plusAsSpace && i === 0)));
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

/**
 * Characters above U+00FF whose low byte is CR or LF: some servers truncate them to that byte
 * (`%e5%98%8a`, U+560A, becomes `\n`), which makes them header-injection carriers.
 */
function foldLowByteControls(s: string): string {
  return LOW_BYTE_CONTROLS.test(s) ? s.replace(LOW_BYTE_CONTROLS_G, '\n') : s;
}

/** The UTF-16 code units U+0100..U+FFFF whose low byte is 0x0a or 0x0d, as one character class. */
const LOW_BYTE_CLASS = (() => {
  let cls = '';
  for (let hi = 1; hi <= 0xff; hi++)
    for (const lo of [0x0a, 0x0d]) cls += `\\u${((hi << 8) | lo).toString(16).padStart(4, '0')}`;
  return `[${cls}]`;
})();
const LOW_BYTE_CONTROLS = new RegExp(LOW_BYTE_CLASS);
const LOW_BYTE_CONTROLS_G = new RegExp(LOW_BYTE_CLASS, 'g');

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and other C0 controls are stripped
const STRIP = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u00ad\u200b-\u200f\u2028\u2029\u2060\ufeff]/g;
const SQL_COMMENT = /\/\*!?\d*|\*\//g;
const SPACES = /[\s\u00a0]+/g;

const BASE64 = /^[A-Za-z0-9+/_-]{8,}={0,2}$/;
/** Valid UTF-8 only (checked with isUtf8); drops a leading BOM like a fatal TextDecoder. */
const UTF8 = new TextDecoder('utf-8');

/** Base64 digit values (standard and URL-safe alphabets), -1 elsewhere. */
const B64_DIGIT = (() => {
  const t = new Int8Array(128).fill(-1);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[abc.charCodeAt(i)] = i;
  t[45] = 62; // -
  t[95] = 63; // _
  return t;
})();

/**
 * False when the first three bytes that the first four base64 digits of `v` decode to cannot
 * begin valid UTF-8 (so the whole value is not base64 of text); true otherwise. `v` has at least
 * four digits before any `=`.
 */
function utf8Start(v: string): boolean {
  const d0 = B64_DIGIT[v.charCodeAt(0)] as number;
  const d1 = B64_DIGIT[v.charCodeAt(1)] as number;
  const d2 = B64_DIGIT[v.charCodeAt(2)] as number;
  const d3 = B64_DIGIT[v.charCodeAt(3)] as number;
  if (d0 < 0 || d1 < 0 || d2 < 0 || d3 < 0) return true;
  const bytes = [(d0 << 2) | (d1 >> 4), ((d1 & 15) << 4) | (d2 >> 2), ((d2 & 3) << 6) | d3];
  let i = 0;
  while (i < 3) {
    const b = bytes[i] as number;
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return false;
    for (let k = 1; k <= need; k++) {
      if (i + k >= 3) return true;
      const c = bytes[i + k] as number;
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return false;
    }
    i += need + 1;
  }
  return true;
}

/** Whether an ASCII string has both an upper-case and a lower-case letter. */
function mixedCase(v: string): boolean {
  let upper = false;
  let lower = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
    if (upper && lower) return true;
  }
  return false;
}

/** The text of a value that is plainly base64 of printable UTF-8 text, else undefined. */
export function base64Text(s: string): string | undefined {
  const v = s.trim();
  if (v.length < 8 || v.length > 65536 || v.length % 4 === 1 || !BASE64.test(v)) return undefined;
  if (!/[0-9+/=_-]/.test(v) && !mixedCase(v)) return undefined;
  // Most such values (`application/json`, ids) are not base64 of text: their first bytes are not
  // UTF-8, which the first four characters tell without decoding the rest.
  if (!utf8Start(v)) return undefined;
  const buf = Buffer.from(/[-_]/.test(v) ? v.replace(/-/g, '+').replace(/_/g, '/') : v, 'base64');
  if (buf.length < 6) return undefined;
  // Validated first, so no exception is thrown (and caught) for the common binary case.
  if (!isUtf8(buf)) return undefined;
  const text = UTF8.decode(buf);
  let printable = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) printable++;
  }
  return printable / text.length >= 0.95 ? text : undefined;
}

/** Removes string concatenation (`'ale'+'rt'`, `"Ex"&"e"`): evasion of keyword matching. */
const CONCAT = /["']\s*[+&]\s*["']/g;
/** Shell quoting and IFS tricks: `c'a't`, `c\at`, `$IFS$9`, `${IFS}`. */
const SHELL_NOISE = /\$\{?IFS\}?(?:\$\d)?|(?<=\w)["'\\](?=[\w/])|\$@/g;

/**
 * The forms the rules see for one value: decoded and case-folded, with comments and whitespace
 * folded; a variant without concatenation and shell quoting; and the decoded base64 text when
 * the value is plainly base64. Duplicates are dropped.
 */
/** ASCII letters, digits, spaces and `_.,@-`: normalisation changes nothing in them but case. */
/** Per ASCII code: 1 for the characters of a simple value (letters, digits, space, `_.,@-`). */
const SIMPLE_CHAR = (() => {
  const t = new Uint8Array(128);
  for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,@-')
    t[c.charCodeAt(0)] = 1;
  return t;
})();

/**
 * The one form of a simple value (ASCII letters, digits, single spaces and `_.,@-`, and not
 * base64 text): its lower-case text, what `variants` gives for it. Undefined for other values.
 */
export function simpleForm(raw: string): string | undefined {
  // One pass: only simple characters, no run of spaces, and whether base64 is possible at all
  // (`.`, `,` and `@` are outside its alphabet; a space only trims away at the ends).
  let maybeBase64 = raw.length >= 8;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || SIMPLE_CHAR[c] === 0) return undefined;
    if (c === 32 && raw.charCodeAt(i + 1) === 32) return undefined;
    if (c === 46 || c === 44 || c === 64) maybeBase64 = false;
  }
  if (maybeBase64 && base64Text(raw) !== undefined) return undefined;
  return raw.toLowerCase();
}

export function variants(raw: string, plusAsSpace = false): string[] {
  const out = new Set<string>();
  const decoded = decodeRepeatedly(raw, plusAsSpace);
  addForms(decoded, out);
  const b64 = base64Text(raw) ?? (decoded !== raw ? base64Text(decoded) : undefined);
  if (b64 !== undefined) addForms(decodeRepeatedly(b64, false), out);
  return [...out];
}

/** Printable ASCII only: nothing to strip, fold or NFKC-normalise. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Whitespace that SPACES would change: a run of two, or anything other than a plain space. */
const SPACES_TO_FOLD = /[^\S ]|\s\s/;
const TAG = /<[a-z]?>/g;

/**
 * Adds the forms of one decoded value. Each step runs only when the value holds the characters
 * it acts on; the forms are the same as running every step.
 */
function addForms(decoded: string, out: Set<string>): void {
  const clean = PRINTABLE_ASCII.test(decoded)
    ? decoded
    : foldLowByteControls(decoded.replace(STRIP, '')).normalize('NFKC');
  const base = clean.toLowerCase();
  out.add(base);
  let folded = base.includes('*') ? base.replace(SQL_COMMENT, ' ') : base;
  if (SPACES_TO_FOLD.test(folded)) folded = folded.replace(SPACES, ' ');
  out.add(folded);
  const quoted = folded.includes("'") || folded.includes('"');
  let glued = quoted ? folded.replace(CONCAT, '') : folded;
  if (quoted || glued.includes('$') || glued.includes('\\'))
    glued = glued.replace(SHELL_NOISE, (m) => (m.startsWith('$') && m !== '$@' ? ' ' : ''));
  out.add(glued);
  // Tag splitting (`o<x>nfocus`) and whitespace inside keywords (`java sc ript`).
  if (glued.includes('<')) out.add(glued.replace(TAG, ''));
}

/** Normalises a path for traversal rules: decoded, backslashes as slashes, repeated slashes folded. */
export function pathForm(raw: string): string {
  return decodeRepeatedly(raw, false)
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/');
}
