import type { ProviderSpec } from './spec.js';

export const anthropic: ProviderSpec = {
  kind: 'anthropic',
  protocol: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com',
  chatPath: () => '/v1/messages',
  headers: (p) => ({
    ...(p.apiKey ? { 'x-api-key': p.apiKey } : {}),
    'anthropic-version': p.apiVersion ?? '2023-06-01',
  }),
  streamUsage: false,
};
