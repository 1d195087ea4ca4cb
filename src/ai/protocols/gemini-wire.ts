import type { ChatChunk, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from './types.js';
import { assistantResponse, contentText } from './types.js';

/** Canonical (OpenAI chat) requests to Gemini generateContent and its answers back. */

const STOP: Record<string, FinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
};

export function toGeminiRequest(req: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const contents: { role: 'user' | 'model'; parts: Record<string, unknown>[] }[] = [];
  const names = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: Record<string, unknown>[]) => {
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') {
      system.push(contentText(m.content));
      continue;
    }
    if (m.role === 'tool') {
      let response: unknown;
      try {
        response = JSON.parse(contentText(m.content));
      } catch {
        response = { result: contentText(m.content) };
      }
      const name = names.get(m.tool_call_id ?? '') ?? 'tool';
      push('user', [{ functionResponse: { name, response } }]);
      continue;
    }
    const parts: Record<string, unknown>[] = [];
    if (typeof m.content === 'string' && m.content) parts.push({ text: m.content });
    else if (Array.isArray(m.content))
      for (const p of m.content) {
        if (p.type === 'text') parts.push({ text: p.text });
        else {
          const d = /^data:([^;,]+);base64,(.*)$/s.exec(p.image_url.url);
          parts.push(
            d ? { inlineData: { mimeType: d[1], data: d[2] } } : { fileData: { fileUri: p.image_url.url } },
          );
        }
      }
    for (const tc of m.tool_calls ?? []) {
      names.set(tc.id, tc.function.name);
      let args: unknown = {};
      try {
        args = JSON.parse(tc.function.arguments || '{}');
      } catch {
        args = {};
      }
      parts.push({ functionCall: { name: tc.function.name, args } });
    }
    push(m.role === 'assistant' ? 'model' : 'user', parts);
  }
  const gen: Record<string, unknown> = {};
  if (req.temperature !== undefined) gen.temperature = req.temperature;
  if (req.top_p !== undefined) gen.topP = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max !== undefined) gen.maxOutputTokens = max;
  if (req.stop !== undefined) gen.stopSequences = Array.isArray(req.stop) ? req.stop : [req.stop];
  if (req.response_format?.type === 'json_object' || req.response_format?.type === 'json_schema')
    gen.responseMimeType = 'application/json';
  const out: Record<string, unknown> = { contents };
  if (system.length) out.systemInstruction = { parts: [{ text: system.join('\n\n') }] };
  if (Object.keys(gen).length) out.generationConfig = gen;
  if (req.tools?.length)
    out.tools = [
      {
        functionDeclarations: req.tools.map((t) => ({
          name: t.function.name,
          description: t.function.description,
          parameters: t.function.parameters,
        })),
      },
    ];
  return out;
}

function usageOf(u: any): Usage {
  const p = u?.promptTokenCount ?? 0;
  const c = (u?.candidatesTokenCount ?? 0) + (u?.thoughtsTokenCount ?? 0);
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

function partsOf(body: any, startIndex: number): { text: string; calls: ToolCall[]; finish: FinishReason } {
  const cand = body?.candidates?.[0];
  let text = '';
  const calls: ToolCall[] = [];
  for (const p of cand?.content?.parts ?? []) {
    if (typeof p.text === 'string' && !p.thought) text += p.text;
    else if (p.functionCall)
      calls.push({
        id: `call_${startIndex + calls.length}`,
        type: 'function',
        function: { name: p.functionCall.name, arguments: JSON.stringify(p.functionCall.args ?? {}) },
      });
  }
  const f = cand?.finishReason;
  const finish = f ? (calls.length ? 'tool_calls' : (STOP[f] ?? 'stop')) : null;
  return { text, calls, finish };
}

export function fromGeminiResponse(body: any, model: string, created: number, id: string): ChatResponse {
  const { text, calls, finish } = partsOf(body, 0);
  return assistantResponse({
    id,
    model,
    created,
    text,
    calls,
    finish: finish ?? 'stop',
    usage: usageOf(body.usageMetadata),
  });
}

/** Gemini's streamed GenerateContentResponse objects to canonical chunks. */
export class GeminiStreamDecoder {
  private tools = 0;
  private usage: Usage | undefined;
  private first = true;

  constructor(
    private readonly model: string,
    private readonly created: number,
    private readonly id: string,
  ) {}

  decode(_event: string, data: string): ChatChunk[] | { error: string } {
    const body = JSON.parse(data);
    if (body.error) return { error: body.error.message ?? 'provider stream error' };
    const { text, calls, finish } = partsOf(body, this.tools);
    if (body.usageMetadata) this.usage = usageOf(body.usageMetadata);
    const delta: ChatChunk['choices'][0]['delta'] = {};
    if (this.first) {
      delta.role = 'assistant';
      this.first = false;
    }
    if (text) delta.content = text;
    if (calls.length)
      delta.tool_calls = calls.map((c, i) => ({
        index: this.tools + i,
        id: c.id,
        type: 'function',
        function: c.function,
      }));
    this.tools += calls.length;
    return [
      {
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      },
    ];
  }

  /** A final usage chunk, once the stream ended. */
  finish(): ChatChunk | undefined {
    if (!this.usage) return undefined;
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: this.usage,
    };
  }
}
