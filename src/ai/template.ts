import type { ChatRequest } from './protocols/types.js';
import type { AiTemplateConfig } from '../config/ai-schema.js';

/**
 * Prompt templates, compiled once per revision: the messages are split into literal parts and
 * variable slots, every slot checked against the declared variables.
 */
export interface CompiledTemplate {
  cfg: AiTemplateConfig;
  render(vars: Record<string, unknown>): ChatRequest;
}

type Part = string | { v: string };

const SLOT = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function split(text: string): Part[] {
  const out: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(SLOT)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push({ v: m[1] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export class TemplateInputError extends Error {}

/** Compiles a template; returns the problems instead when a slot names an undeclared variable. */
export function compileTemplate(t: AiTemplateConfig): CompiledTemplate | string[] {
  const system = t.system === undefined ? undefined : split(t.system);
  const user = split(t.user);
  const problems: string[] = [];
  for (const p of [...(system ?? []), ...user])
    if (typeof p !== 'string' && !(p.v in t.variables))
      problems.push(`uses {{${p.v}}}, which is not in \`variables\``);
  if (problems.length) return problems;
  const fill = (parts: Part[], vars: Record<string, string>) =>
    parts.map((p) => (typeof p === 'string' ? p : (vars[p.v] ?? ''))).join('');
  return {
    cfg: t,
    render(input) {
      const vars: Record<string, string> = {};
      for (const k of Object.keys(input))
        if (!(k in t.variables)) throw new TemplateInputError(`unknown property \`${k}\``);
      for (const [name, spec] of Object.entries(t.variables)) {
        const v = input[name] ?? spec.default;
        if (v === undefined) {
          if (spec.required) throw new TemplateInputError(`\`${name}\` is required`);
          continue;
        }
        if (typeof v !== 'string') throw new TemplateInputError(`\`${name}\` must be a string`);
        if (v.length > spec.maxLength)
          throw new TemplateInputError(`\`${name}\` is longer than ${spec.maxLength} characters`);
        if (spec.enum && !spec.enum.includes(v))
          throw new TemplateInputError(`\`${name}\` must be one of ${spec.enum.join(', ')}`);
        vars[name] = v;
      }
      const messages: ChatRequest['messages'] = [];
      if (system) messages.push({ role: 'system', content: fill(system, vars) });
      messages.push({ role: 'user', content: fill(user, vars) });
      const req: ChatRequest = { model: t.model, messages };
      const p = t.parameters;
      if (p?.temperature !== undefined) req.temperature = p.temperature;
      if (p?.max_tokens !== undefined) req.max_tokens = p.max_tokens;
      if (p?.json) req.response_format = { type: 'json_object' };
      return req;
    },
  };
}
