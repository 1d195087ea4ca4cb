import { bearer, type ProviderSpec } from './spec.js';

export const openai: ProviderSpec = {
  kind: 'openai',
  protocol: 'openai',
  defaultBaseUrl: 'https://api.openai.com/v1',
  chatPath: () => '/chat/completions',
  embeddingsPath: () => '/embeddings',
  headers: bearer,
  streamUsage: true,
};
