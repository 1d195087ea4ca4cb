import { bearer, type ProviderSpec } from './spec.js';

/** Mistral speaks OpenAI's chat format and sends usage in its last streamed chunk unasked. */
export const mistral: ProviderSpec = {
  kind: 'mistral',
  protocol: 'openai',
  defaultBaseUrl: 'https://api.mistral.ai/v1',
  chatPath: () => '/chat/completions',
  embeddingsPath: () => '/embeddings',
  headers: bearer,
  streamUsage: false,
};
