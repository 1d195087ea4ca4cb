import type { ProviderSpec } from './spec.js';

const version = (v: string | undefined) => encodeURIComponent(v ?? '2024-10-21');

/** Azure OpenAI: the model is a deployment in the path, the key an `api-key` header. */
export const azureOpenai: ProviderSpec = {
  kind: 'azure-openai',
  protocol: 'openai',
  chatPath: (model, _s, p) =>
    `/openai/deployments/${encodeURIComponent(model)}/chat/completions?api-version=${version(p.apiVersion)}`,
  embeddingsPath: (model, p) =>
    `/openai/deployments/${encodeURIComponent(model)}/embeddings?api-version=${version(p.apiVersion)}`,
  headers: (p): Record<string, string> => (p.apiKey ? { 'api-key': p.apiKey } : {}),
  streamUsage: true,
};
