import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ContentPart,
  FinishReason,
  ToolChoice,
} from './types.js';

/** The Anthropic Messages API as an input format: its requests in, canonical answers out. */

const STOP_OUT: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

function stopOut(r: FinishReason | undefined): string {
  return r ? (STOP_OUT[r] ?? 'end_turn') : 'end_turn';
}

function textOf(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((b) => (b?.type === 'text' ? b.text : '')).join('');
  return '';
}

/** Throws an Error with a client-facing message when the body is not a Messages request. */
export function fromAnthropicInput(body: any): ChatRequest {
  if (!body || typeof body !== 'object' || !Array.isArray(body.messages))
    throw new Error('`messages` must be an array');
  if (typeof body.model !== 'string') throw new Error('`model` must be a string');
  const messages: ChatMessage[] = [];
  const system = textOf(body.system);
  if (system) messages.push({ role: 'system', content: system });
  for (const m of body.messages) {
    if (m?.role !== 'user' && m?.role !== 'assistant')
      throw new Error('message role must be user or assistant');
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    if (!Array.isArray(m.content)) throw new Error('message content must be a string or an array');
    const parts: ContentPart[] = [];
    const calls: NonNullable<ChatMessage['tool_calls']> = [];
    for (const b of m.content) {
      if (b?.type === 'text') parts.push({ type: 'text', text: String(b.text ?? '') });
      else if (b?.type === 'image') {
        const s = b.source ?? {};
        const url = s.type === 'base64' ? `data:${s.media_type};base64,${s.data}` : String(s.url ?? '');
        parts.push({ type: 'image_url', image_url: { url } });
      } else if (b?.type === 'tool_use')
        calls.push({
          id: b.id,
          type: 'function',
          function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
        });
      else if (b?.type === 'tool_result')
        messages.push({ role: 'tool', tool_call_id: b.tool_use_id, content: textOf(b.content) });
    }
    if (parts.length || calls.length) {
      const onlyText = parts.every((p) => p.type === 'text');
      const content = onlyText ? parts.map((p) => (p as { text: string }).text).join('') : parts;
      messages.push({
        role: m.role,
        content: calls.length && content === '' ? null : content,
        ...(calls.length ? { tool_calls: calls } : {}),
      });
    }
  }
  const req: ChatRequest = { model: body.model, messages, max_tokens: body.max_tokens };
  if (body.stream) req.stream = true;
  if (body.temperature !== undefined) req.temperature = body.temperature;
  if (body.top_p !== undefined) req.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences)) req.stop = body.stop_sequences;
  if (Array.isArray(body.tools))
    req.tools = body.tools.map((t: any) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.input_schema },
    }));
  const tc = body.tool_choice;
  if (tc?.type) {
    const map: Record<string, ToolChoice> = { auto: 'auto', any: 'required', none: 'none' };
    req.tool_choice =
      tc.type === 'tool' ? { type: 'function', function: { name: tc.name } } : (map[tc.type] ?? 'auto');
  }
  return req;
}

export function toAnthropicOutput(r: ChatResponse, alias: string): Record<string, unknown> {
  const choice = r.choices[0];
  const content: Record<string, unknown>[] = [];
  if (choice?.message.content) content.push({ type: 'text', text: choice.message.content });
  for (const tc of choice?.message.tool_calls ?? []) {
    let input: unknown = {};
    try {
      input = JSON.parse(tc.function.arguments || '{}');
    } catch {
      input = {};
    }
    content.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input });
  }
  return {
    id: r.id.startsWith('msg_') ? r.id : `msg_${r.id}`,
    type: 'message',
    role: 'assistant',
    model: alias,
    content,
    stop_reason: stopOut(choice?.finish_reason),
    stop_sequence: null,
    usage: { input_tokens: r.usage?.prompt_tokens ?? 0, output_tokens: r.usage?.completion_tokens ?? 0 },
  };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Canonical chunks to Anthropic SSE events, keeping the block bookkeeping Anthropic clients expect. */
export class AnthropicStreamEncoder {
  private started = false;
  private block = -1;
  private open: 'text' | 'tool' | undefined;
  private toolBlock = new Map<number, number>();
  private stop: FinishReason = null;
  private input = 0;
  private output = 0;

  constructor(
    private readonly alias: string,
    private readonly id: string,
    estimateInput: number,
  ) {
    this.input = estimateInput;
  }

  private start(): string {
    this.started = true;
    return sse('message_start', {
      type: 'message_start',
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        model: this.alias,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.input, output_tokens: 0 },
      },
    });
  }

  private close(): string {
    if (!this.open) return '';
    this.open = undefined;
    return sse('content_block_stop', { type: 'content_block_stop', index: this.block });
  }

  encode(c: ChatChunk): string {
    let s = this.started ? '' : this.start();
    if (c.usage) {
      this.input = c.usage.prompt_tokens;
      this.output = c.usage.completion_tokens;
    }
    const ch = c.choices[0];
    if (!ch) return s;
    const d = ch.delta;
    if (d.content) {
      if (this.open !== 'text') {
        s += this.close();
        this.open = 'text';
        s += sse('content_block_start', {
          type: 'content_block_start',
          index: ++this.block,
          content_block: { type: 'text', text: '' },
        });
      }
      s += sse('content_block_delta', {
        type: 'content_block_delta',
        index: this.block,
        delta: { type: 'text_delta', text: d.content },
      });
    }
    for (const t of d.tool_calls ?? []) {
      if (t.id || !this.toolBlock.has(t.index)) {
        s += this.close();
        this.open = 'tool';
        this.toolBlock.set(t.index, ++this.block);
        s += sse('content_block_start', {
          type: 'content_block_start',
          index: this.block,
          content_block: {
            type: 'tool_use',
            id: t.id ?? `toolu_${t.index}`,
            name: t.function?.name ?? '',
            input: {},
          },
        });
      }
      if (t.function?.arguments)
        s += sse('content_block_delta', {
          type: 'content_block_delta',
          index: this.toolBlock.get(t.index),
          delta: { type: 'input_json_delta', partial_json: t.function.arguments },
        });
    }
    if (ch.finish_reason) this.stop = ch.finish_reason;
    return s;
  }

  /** The closing events, once the provider's stream ended. */
  end(): string {
    let s = this.started ? '' : this.start();
    s += this.close();
    s += sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopOut(this.stop), stop_sequence: null },
      usage: { input_tokens: this.input, output_tokens: this.output },
    });
    return s + sse('message_stop', { type: 'message_stop' });
  }

  error(message: string, type = 'api_error'): string {
    return sse('error', { type: 'error', error: { type, message } });
  }
}
