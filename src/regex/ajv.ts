import { compilePattern, RegexError } from './pattern.js';

/**
 * The `code.regExp` engine for Ajv: JSON Schema `pattern` and `patternProperties` run on RE2
 * (see pattern.ts). A pattern RE2 cannot run makes `ajv.compile` throw, naming the pattern.
 */
export const linearRegExp = Object.assign(
  (source: string, flags: string) => {
    try {
      const p = compilePattern(source, flags);
      // Ajv keys its compiled patterns by `toString()`.
      return { test: p.test, toString: () => `/${source}/${flags}` };
    } catch (e) {
      if (e instanceof RegexError)
        throw new Error(`pattern ${JSON.stringify(source.slice(0, 80))} ${e.reason}`);
      throw e;
    }
  },
  { code: 'linearRegExp' },
);
