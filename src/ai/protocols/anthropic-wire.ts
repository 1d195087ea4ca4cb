import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ToolCall,
  Usage,
} from './types.js';
import { assistantResponse, contentText } from './types.js';

/** Canonical (OpenAI chat) requests to the Anthropic Messages API and its answers back. */

type Block = Record<string, unknown>;

const STOP: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

export function finishFromAnthropic(reason: unknown): FinishReason {
  return typeof reason === 'string' ? (STOP[reason] ?? 'stop') : null;
}

function imageBlock(url: string): Block {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m) return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function blocksOf(m: ChatMessage): Block[] {
  const out: Block[] = [];
  if (typeof m.content === 'string') {
    if (m.content) out.push({ type: 'text', text: m.content });
  } else if (Array.isArray(m.content)) {
    for (const p of m.content) {
      if (p.type === 'text') out.push({ type: 'text', text: p.text });
      else if (p.type === 'image_url') out.push(imageBlock(p.image_url.url));
    }
  }
  for (const tc of m.tool_calls ?? []) {
    let input: unknown = {};
    try {
      input = tc.function.arguments ? JSON.parse(tc.function.arguments) : {};
    } catch {
      input = { _raw: tc.function.arguments };
    }
    out.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input });
  }
  return out;
}

export function toAnthropicRequest(req: ChatRequest, model: string): Record<string, unknown> {
  const system: string[] = [];
  const messages: { role: 'user' | 'assistant'; content: Block[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') system.push(contentText(m.content));
    else if (m.role === 'tool')
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: contentText(m.content) }]);
    else push(m.role, blocksOf(m));
  }
  if (req.response_format?.type === 'json_object' || req.response_format?.type === 'json_schema')
    system.push('Respond with a single JSON object and nothing else.');
  const out: Record<string, unknown> = {
    model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? 4096,
    messages,
  };
  if (system.length) out.system = system.join('\n\n');
  if (req.temperature !== undefined) out.temperature = Math.min(1, req.temperature);
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.stop !== undefined) out.stop_sequences = Array.isArray(req.stop) ? req.stop : [req.stop];
  if (req.stream) out.stream = true;
  if (req.tools?.length)
    out.tools = req.tools.map((t) => ({
      name: t.function.name,
      description: t.function.description,
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  const tc = req.tool_choice;
  if (tc && req.tools?.length) {
    if (tc === 'auto') out.tool_choice = { type: 'auto' };
    else if (tc === 'required') out.tool_choice = { type: 'any' };
    else if (tc === 'none') out.tool_choice = { type: 'none' };
    else out.tool_choice = { type: 'tool', name: tc.function.name };
  }
  return out;
}

function usageOf(u: { input_tokens?: number; output_tokens?: number } | undefined): Usage {
  const p = u?.input_tokens ?? 0;
  const c = u?.output_tokens ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

export function fromAnthropicResponse(body: any, model: string, created: number): ChatResponse {
  let text = '';
  const calls: ToolCall[] = [];
  for (const b of body.content ?? []) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'tool_use')
      calls.push({
        id: b.id,
        type: 'function',
        function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
      });
  }
  return assistantResponse({
    id: `chatcmpl-${body.id ?? ''}`,
    model,
    created,
    text,
    calls,
    finish: finishFromAnthropic(body.stop_reason),
    usage: usageOf(body.usage),
  });
}

/** Anthropic SSE events to canonical chunks, one event at a time. */
export class AnthropicStreamDecoder {
  private id = '';
  private input = 0;
  private output = 0;
  private toolIndex = -1;
  /** Anthropic block index -> tool call index. */
  private readonly tools = new Map<number, number>();

  constructor(
    private readonly model: string,
    private readonly created: number,
  ) {}

  private chunk(delta: ChatChunk['choices'][0]['delta'], finish: FinishReason = null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
  }

  /** Returns the chunks an event makes, or an error message for an `error` event. */
  decode(event: string, data: string): ChatChunk[] | { error: string } {
    const d = JSON.parse(data);
    switch (event || d.type) {
      case 'message_start':
        this.id = `chatcmpl-${d.message?.id ?? ''}`;
        this.input = d.message?.usage?.input_tokens ?? 0;
        this.output = d.message?.usage?.output_tokens ?? 0;
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'content_block_start': {
        const b = d.content_block;
        if (b?.type === 'tool_use') {
          const index = ++this.toolIndex;
          this.tools.set(d.index, index);
          return [
            this.chunk({
              tool_calls: [{ index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }],
            }),
          ];
        }
        if (b?.type === 'text' && b.text) return [this.chunk({ content: b.text })];
        return [];
      }
      case 'content_block_delta': {
        const x = d.delta;
        if (x?.type === 'text_delta') return [this.chunk({ content: x.text })];
        if (x?.type === 'input_json_delta') {
          const index = this.tools.get(d.index) ?? 0;
          return [this.chunk({ tool_calls: [{ index, function: { arguments: x.partial_json } }] })];
        }
        return [];
      }
      case 'message_delta': {
        if (d.usage?.output_tokens !== undefined) this.output = d.usage.output_tokens;
        if (d.usage?.input_tokens) this.input = d.usage.input_tokens;
        return [this.chunk({}, finishFromAnthropic(d.delta?.stop_reason))];
      }
      case 'message_stop': {
        const c: ChatChunk = { ...this.chunk({}), choices: [] };
        c.usage = usageOf({ input_tokens: this.input, output_tokens: this.output });
        return [c];
      }
      case 'error':
        return { error: d.error?.message ?? 'provider stream error' };
      default:
        return [];
    }
  }
}
