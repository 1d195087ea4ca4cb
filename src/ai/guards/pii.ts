/**
 * PII detectors: a bounded, linear pattern finds candidates and a validator confirms them
 * (Luhn for card numbers, ISO 13616 mod-97 for IBANs, SSA rules for US SSNs), so that order
 * numbers and timestamps are not redacted as cards or phones.
 */
export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'ssn', 'uk-nino'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

import { builtinPattern, type Pattern } from '../../regex/pattern.js';

export interface Detector {
  name: string;
  re: Pattern;
  valid?: (match: string) => boolean;
  replacement: string;
}

const digits = (s: string) => s.replace(/\D/g, '');

export function luhn(num: string): boolean {
  let sum = 0;
  for (let i = 0; i < num.length; i++) {
    let d = num.charCodeAt(num.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to 10..35, remainder mod 97 is 1. */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, '').toUpperCase();
  if (s.length < 15 || s.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of r) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const c of v) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
// 3-2-4 digits is the shape of a US SSN (valid or not), not of a phone number.
const SSN_SHAPE = /^\d{3}-\d{2}-\d{4}$/;

const BUILTIN: Record<PiiKind, { name: string; re: RegExp; valid?: (m: string) => boolean }> = {
  email: { name: 'email', re: /[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/g },
  card: {
    name: 'card',
    re: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    valid: (m) => luhn(digits(m)),
  },
  iban: {
    name: 'iban',
    re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    valid: ibanValid,
  },
  ssn: {
    name: 'ssn',
    re: /\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b/g,
  },
  'uk-nino': {
    name: 'uk-nino',
    re: /\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
  },
  phone: {
    name: 'phone',
    re: /(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w-])/g,
    valid: (m) => {
      const n = digits(m).length;
      if (n < 9 || n > 15 || IPV4.test(m) || SSN_SHAPE.test(m)) return false;
      // A bare run of digits is an id or an amount more often than a phone number.
      return /^\+|[ .()-]/.test(m) || n === 10;
    },
  },
};

/** Order matters: specific detectors first, so a card number is not also taken for a phone. */
const ORDER: PiiKind[] = ['card', 'iban', 'ssn', 'uk-nino', 'email', 'phone'];

export function builtinDetectors(kinds: readonly PiiKind[], replacement: string): Detector[] {
  return ORDER.filter((k) => kinds.includes(k)).map((k) => ({
    ...BUILTIN[k],
    re: builtinPattern(BUILTIN[k].re),
    replacement: replacement.replaceAll('{type}', k.toUpperCase()),
  }));
}

/**
 * Redaction of a streamed answer as it flows: text is held back until it is at least `window`
 * characters from the end of what arrived, and never cut inside a finding, so PII split across
 * chunks is redacted whole. `end()` releases (redacted) what is held. Findings longer than the
 * window may leak their start: the window must exceed the longest PII (96 covers the built-ins).
 */
export interface StreamRedactor {
  push(text: string): string;
  end(): string;
  /** The kinds redacted so far. */
  readonly kinds: ReadonlySet<string>;
}

export function streamRedactor(detectors: readonly Detector[], window: number): StreamRedactor {
  let held = '';
  const kinds = new Set<string>();
  const redact = (t: string) => {
    const r = scanPii(t, detectors);
    for (const k of r.kinds) kinds.add(k);
    return r.text;
  };
  return {
    kinds,
    push(text) {
      held += text;
      let cut = held.length - window;
      if (cut <= 0) return '';
      const spans = detectors.flatMap((d) =>
        d.re.spans(held).filter(([s, e]) => !d.valid || d.valid(held.slice(s, e))),
      );
      // Move the cut before every finding it would split (findings may overlap: repeat).
      for (let moved = true; moved && cut > 0; ) {
        moved = false;
        for (const [s, e] of spans)
          if (s < cut && e > cut) {
            cut = s;
            moved = true;
          }
      }
      if (cut <= 0) return '';
      const out = redact(held.slice(0, cut));
      held = held.slice(cut);
      return out;
    },
    end() {
      const out = held ? redact(held) : '';
      held = '';
      return out;
    },
  };
}

export interface PiiFinding {
  kinds: string[];
  text: string;
}

/**
 * Finds PII and returns the text with every finding replaced. Detectors run in order on the
 * text as redacted so far; a replacement never contains what a later detector looks for.
 */
export function scanPii(text: string, detectors: readonly Detector[]): PiiFinding {
  const kinds: string[] = [];
  let out = text;
  for (const d of detectors) {
    let hit = false;
    out = d.re.replace(out, (m) => {
      if (d.valid && !d.valid(m)) return m;
      hit = true;
      return d.replacement;
    });
    if (hit) kinds.push(d.name);
  }
  return { kinds, text: out };
}
