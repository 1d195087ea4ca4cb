import { countTokens } from 'gpt-tokenizer';
import { type ChatRequest, contentText } from './protocols/types.js';

/** Token estimates with a real tokenizer (o200k), used before a call and when a provider reports none. */
export function estimateText(text: string): number {
  if (!text) return 0;
  try {
    return countTokens(text, { disallowedSpecial: new Set() } as never);
  } catch {
    return Math.ceil(text.length / 4);
  }
}

/** Prompt tokens of a chat request: text, tool definitions, and a few tokens per message. */
export function estimateInput(req: ChatRequest): number {
  let n = 3;
  for (const m of req.messages) {
    n += 4 + estimateText(contentText(m.content));
    for (const tc of m.tool_calls ?? [])
      n += estimateText(tc.function.name) + estimateText(tc.function.arguments);
    if (Array.isArray(m.content)) for (const p of m.content) if (p.type === 'image_url') n += 765;
  }
  if (req.tools?.length) n += estimateText(JSON.stringify(req.tools));
  return n;
}

/** The output tokens a call may use, for reservations: its max_tokens, else a default. */
export function maxOutput(req: ChatRequest | undefined, fallback: number): number {
  return req?.max_completion_tokens ?? req?.max_tokens ?? fallback;
}
