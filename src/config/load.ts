import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { runSync, type Steps } from '../core/slices.js';

/** Deeper than any config needs; deeper documents are refused before anything recurses on them. */
const MAX_DEPTH = 100;

/**
 * One linear pass over JSON text: keys repeated in one object (JSON.parse keeps the last one
 * silently; the config loader refuses them as the YAML parser does) and the nesting depth.
 */
function* scanJsonConfig(text: string): Steps<'duplicate' | 'deep' | undefined> {
  const stack: (Set<string> | undefined)[] = [];
  let expectKey = false;
  let nextStep = SCAN_STEP;
  for (let i = 0; i < text.length; i++) {
    if (i >= nextStep) {
      nextStep = i + SCAN_STEP;
      yield;
    }
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: find its end, honouring escapes.
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (escaped) escaped = false;
        else if (d === 0x5c) escaped = true;
        else if (d === 0x22) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (keys.has(key)) return 'duplicate';
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      if (stack.length >= MAX_DEPTH) return 'deep';
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      if (stack.length >= MAX_DEPTH) return 'deep';
      stack.push(undefined);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] !== undefined;
    }
  }
  return undefined;
}

/** Characters scanned between two steps of a sliced parse (src/core/slices.ts). */
const SCAN_STEP = 32 * 1024;

/** Parses YAML or JSON text (JSON is YAML) into a plain object, or throws ConfigError. */
export function parseConfigText(text: string, source = 'config'): unknown {
  return runSync(parseConfigSteps(text, source));
}

/**
 * `parseConfigText` in steps: the JSON pre-scan yields every 32 KiB (the admin API runs it in
 * time slices). `JSON.parse` itself and the YAML parser each run in one step.
 */
export function* parseConfigSteps(text: string, source = 'config'): Steps<unknown> {
  // JSON (what the admin API mostly receives) is parsed natively, far faster than as YAML;
  // anything else, or JSON with a problem, goes through the YAML parser and its error messages.
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    const problem = yield* scanJsonConfig(text);
    if (problem === 'deep')
      throw new ConfigError([{ path: source, message: `nested more than ${MAX_DEPTH} levels deep` }]);
    if (!problem) {
      try {
        const value = JSON.parse(text) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) return value;
      } catch {
        // fall through to the YAML parser for a located error
      }
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: e.linePos?.[0] ? `${source}:${e.linePos[0].line}:${e.linePos[0].col}` : source,
        message: e.message.split('\n')[0],
      })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias bomb ("billion laughs") or another document that cannot become plain data.
    throw new ConfigError([{ path: source, message: (err as Error).message }]);
  }
  // An empty document is refused rather than read as "no routes": a truncated file or an empty
  // request body must not wipe the running config. Send `{}` to really clear everything.
  if (value === null || value === undefined)
    throw new ConfigError([{ path: source, message: 'the configuration is empty' }]);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ path: '/', message: 'the configuration must be a mapping (an object)' }]);
  }
  return value;
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { path: file, message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
  }
  return parseConfigText(text, file);
}
