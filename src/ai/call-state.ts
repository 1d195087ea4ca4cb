import type { PolicyContext } from '../core/context.js';
import { fromAnthropicInput } from './protocols/anthropic-input.js';
import type { ChatRequest } from './protocols/types.js';

/**
 * What the AI policies (budgets, guards) and the AI terminal share about one call, kept in
 * `ctx.state`. Policies run in their phases before the terminal: they parse the body through
 * `aiCall(ctx)` (once), may redact its input text, and register a `settle` hook that the
 * terminal calls exactly once with the usage the provider reported (or zero when no call was made).
 */
export type AiCallKind = 'chat' | 'messages' | 'embeddings' | 'template' | 'other';

export interface SettledUsage {
  model: string;
  provider: string;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** False when the provider was never reached (refused, failed before any call). */
  called: boolean;
}

export interface AiCallState {
  kind: AiCallKind;
  /** The parsed JSON body (template variables for template routes). */
  body: any;
  /** Canonical request, for `chat` and `messages`. */
  request?: ChatRequest;
  /** Error parsing the body; the terminal answers it in the caller's format. */
  parseError?: string;
  /** Set by the terminal when it takes the call: settle hooks then fire from the terminal. */
  started: boolean;
  settled: boolean;
  readonly settleHooks: ((u: SettledUsage) => void)[];
  /** Output checks found in the chain; set by the terminal. */
  outputNotes: string[];
}

const KEY = 'ai.call';

export function kindOf(path: string): AiCallKind {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/messages')) return 'messages';
  if (path.endsWith('/embeddings')) return 'embeddings';
  if (path.endsWith('/models')) return 'other';
  return 'template';
}

/** The call's state, parsing the body on first use. */
export async function aiCall(ctx: PolicyContext): Promise<AiCallState> {
  const have = ctx.state.get(KEY) as AiCallState | undefined;
  if (have) return have;
  // Only AI routes (they have no `service`) carry AI calls: a budget or guard scoped globally
  // must not read, count or refuse the JSON bodies of ordinary proxied routes.
  const kind =
    ctx.request.method === 'POST' && ctx.request.service === '' ? kindOf(ctx.request.path) : 'other';
  const s: AiCallState = {
    kind,
    body: undefined,
    started: false,
    settled: false,
    settleHooks: [],
    outputNotes: [],
  };
  ctx.state.set(KEY, s);
  if (kind === 'other') return s;
  const raw = await ctx.readBody();
  try {
    s.body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    if (kind === 'chat') s.request = checkChat(s.body);
    else if (kind === 'messages') s.request = fromAnthropicInput(s.body);
    else if (typeof s.body !== 'object' || s.body === null || Array.isArray(s.body))
      throw new Error('body must be a JSON object');
  } catch (err) {
    s.parseError = err instanceof SyntaxError ? 'request body is not valid JSON' : (err as Error).message;
  }
  return s;
}

export function peekAiCall(ctx: PolicyContext): AiCallState | undefined {
  return ctx.state.get(KEY) as AiCallState | undefined;
}

function checkChat(b: any): ChatRequest {
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Error('body must be a JSON object');
  if (typeof b.model !== 'string') throw new Error('`model` must be a string');
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw new Error('`messages` must be a non-empty array');
  for (const m of b.messages)
    if (!m || typeof m !== 'object' || typeof m.role !== 'string')
      throw new Error('each message needs a `role`');
  return b as ChatRequest;
}

/** Calls the settle hooks once. */
export function settle(s: AiCallState, u: SettledUsage): void {
  if (s.settled) return;
  s.settled = true;
  for (const h of s.settleHooks) {
    try {
      h(u);
    } catch {
      // a hook's failure must not break the answer; budgets log their own errors
    }
  }
}

/**
 * An output check a guard policy offers the AI terminal: attached to the policy's per-request
 * function as `aiOutput`. It gets the model's whole answer text and says whether to block it,
 * and may return a rewritten (redacted) text.
 */
export interface OutputVerdict {
  block?: { rule: string; detail?: string };
  text?: string;
  /** With `text`: names what was rewritten (`pii:email`), recorded as an `allow` decision. */
  rule?: string;
}
export type OutputCheck = (text: string) => OutputVerdict | undefined;

/**
 * A rewriter of a streamed answer a guard offers the AI terminal (`fn.aiStreamOutput`, one per
 * stream): text deltas go through `push`, which may hold some back; `end` releases the rest (at
 * the end of the answer or before a tool call). `rule` names what was rewritten, if anything.
 */
export interface StreamTextFilter {
  push(text: string): string;
  end(): string;
  rule(): string | undefined;
}
export type StreamFilterFactory = () => StreamTextFilter;

/** Thrown by a stream filter's push or end to cut the stream: a guard found what it blocks. */
export class StreamBlocked extends Error {
  constructor(readonly rule: string) {
    super(`stream cut by a guardrail: ${rule}`);
  }
}
