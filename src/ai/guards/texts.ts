import type { AiCallState } from '../call-state.js';
import { contentText } from '../protocols/types.js';

/**
 * Which caller text a guard reads. Chat and messages calls are read per role (a system prompt
 * is the application's, a user or tool message may carry an attack); embeddings inputs and
 * template variables are all caller text.
 */
export type GuardRole = 'system' | 'user' | 'assistant' | 'tool';

const roleOf = (r: string): GuardRole => (r === 'developer' ? 'system' : (r as GuardRole));

const ALL_ROLES: ReadonlySet<GuardRole> = new Set(['system', 'user', 'assistant', 'tool']);

/** Every piece of caller-supplied text: message contents, embedding inputs, template variables. */
export function inputTexts(s: AiCallState): string[] {
  return guardTexts(s, ALL_ROLES);
}

export function guardTexts(s: AiCallState, roles: ReadonlySet<GuardRole>): string[] {
  if (s.request) {
    const out: string[] = [];
    for (const m of s.request.messages)
      if (roles.has(roleOf(m.role))) {
        const t = contentText(m.content);
        if (t) out.push(t);
      }
    return out;
  }
  if (s.kind === 'embeddings') {
    const i = s.body?.input;
    return (Array.isArray(i) ? i : [i]).filter((x): x is string => typeof x === 'string');
  }
  if (s.kind === 'template' && s.body && typeof s.body === 'object' && !Array.isArray(s.body))
    return Object.values(s.body).filter((x): x is string => typeof x === 'string');
  return [];
}

/** Rewrites the caller text of the given roles (redaction); same scope as guardTexts. */
export function mapGuardTexts(
  s: AiCallState,
  roles: ReadonlySet<GuardRole>,
  fn: (t: string) => string,
): void {
  if (s.request) {
    for (const m of s.request.messages) {
      if (!roles.has(roleOf(m.role))) continue;
      if (typeof m.content === 'string') m.content = fn(m.content);
      else if (Array.isArray(m.content))
        for (const p of m.content) if (p.type === 'text') p.text = fn(p.text);
    }
    return;
  }
  if (s.kind === 'embeddings' && s.body) {
    const i = s.body.input;
    s.body.input = Array.isArray(i)
      ? i.map((x) => (typeof x === 'string' ? fn(x) : x))
      : typeof i === 'string'
        ? fn(i)
        : i;
    return;
  }
  if (s.kind === 'template' && s.body && typeof s.body === 'object' && !Array.isArray(s.body))
    for (const k of Object.keys(s.body)) if (typeof s.body[k] === 'string') s.body[k] = fn(s.body[k]);
}
