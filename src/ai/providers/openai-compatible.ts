import { bearer, type ProviderSpec } from './spec.js';

/** Ollama, vLLM, Groq, Together, LM Studio...: OpenAI's wire format at a base URL of your choosing. */
export const openaiCompatible: ProviderSpec = {
  kind: 'openai-compatible',
  protocol: 'openai',
  chatPath: () => '/chat/completions',
  embeddingsPath: () => '/embeddings',
  headers: bearer,
  streamUsage: true,
};
