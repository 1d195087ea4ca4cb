/**
 * The canonical shapes inside the AI gateway: OpenAI chat completions. Every input format is
 * turned into a ChatRequest, every provider answers in ChatResponse / ChatChunk, and the output
 * format turns them back. Only the fields the gateway reads are typed; the rest pass through.
 */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: ChatTool[];
  tool_choice?: ToolChoice;
  response_format?: { type: 'text' | 'json_object' | 'json_schema'; json_schema?: unknown };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  [k: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;

export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; refusal?: null };
    finish_reason: FinishReason;
    logprobs?: null;
  }[];
  usage?: Usage;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[] };
    finish_reason: FinishReason;
    logprobs?: null;
  }[];
  usage?: Usage | null;
}

/** The text of a message's content, images left out (for estimates and guards). */
export function contentText(c: ChatMessage['content']): string {
  if (c == null) return '';
  if (typeof c === 'string') return c;
  let s = '';
  for (const p of c) if (p.type === 'text') s += (s ? '\n' : '') + p.text;
  return s;
}

/** The error a provider or the gateway reports, before it is written in the caller's format. */
export interface AiFailure {
  status: number;
  type: string;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** A non-streamed answer in the canonical (OpenAI) shape, from a provider's text and tool calls. */
export function assistantResponse(a: {
  id: string;
  model: string;
  created: number;
  text: string;
  calls: ToolCall[];
  finish: FinishReason;
  usage: Usage;
}): ChatResponse {
  return {
    id: a.id,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: a.text || (a.calls.length ? null : ''),
          ...(a.calls.length ? { tool_calls: a.calls } : {}),
        },
        finish_reason: a.finish,
        logprobs: null,
      },
    ],
    usage: a.usage,
  };
}
