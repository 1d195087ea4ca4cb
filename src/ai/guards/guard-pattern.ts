import { compilePattern, type Pattern, RegexError } from '../../regex/pattern.js';

/** A refusal of a guard's config; `path` names the field (`patterns/0/pattern`) under the policy. */
export class PatternError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * Compiles an operator's guard pattern, case-insensitive, on RE2 (linear time on prompts and
 * answers up to the body limit), or throws a PatternError naming the field.
 */
export function compileGuardPattern(source: string, path: string): Pattern {
  try {
    return compilePattern(source, 'i');
  } catch (e) {
    if (e instanceof RegexError) throw new PatternError(e.message, path);
    throw e;
  }
}
