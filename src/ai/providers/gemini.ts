import type { ProviderSpec } from './spec.js';

export const gemini: ProviderSpec = {
  kind: 'gemini',
  protocol: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  chatPath: (model, stream) =>
    `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
  headers: (p): Record<string, string> => (p.apiKey ? { 'x-goog-api-key': p.apiKey } : {}),
  streamUsage: false,
};
