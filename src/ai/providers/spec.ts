import type { AiProviderConfig, ProviderKind } from '../../config/ai-schema.js';

/**
 * A provider is data: where it lives, how it authenticates, which wire protocol it speaks.
 * The protocol (src/ai/protocols) does the translating; the transport (src/ai/upstream.ts)
 * the HTTP. Adding an OpenAI-compatible provider is a few lines here.
 */
export interface ProviderSpec {
  kind: ProviderKind;
  protocol: 'openai' | 'anthropic' | 'gemini';
  /** Used when the provider config has no baseUrl; absent means baseUrl is required. */
  defaultBaseUrl?: string;
  /** Path under the base URL for a chat call. */
  chatPath(model: string, stream: boolean, p: AiProviderConfig): string;
  /** Path under the base URL for embeddings; absent when the provider has none here. */
  embeddingsPath?(model: string, p: AiProviderConfig): string;
  /** Authentication and version headers. */
  headers(p: AiProviderConfig): Record<string, string>;
  /** Whether to ask for usage in the last streamed chunk (`stream_options.include_usage`). */
  streamUsage: boolean;
}

export const bearer = (p: AiProviderConfig): Record<string, string> =>
  p.apiKey ? { authorization: `Bearer ${p.apiKey}` } : {};
