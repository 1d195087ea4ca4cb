import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';

/** Parses YAML or JSON text (JSON is YAML) into a plain object, or throws ConfigError. */
export function parseConfigText(text: string, source = 'config'): unknown {
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
