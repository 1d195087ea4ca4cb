import type { ProviderKind } from '../../config/ai-schema.js';
import { anthropic } from './anthropic.js';
import { azureOpenai } from './azure-openai.js';
import { gemini } from './gemini.js';
import { mistral } from './mistral.js';
import { openai } from './openai.js';
import { openaiCompatible } from './openai-compatible.js';
import type { ProviderSpec } from './spec.js';

export const PROVIDERS: Record<ProviderKind, ProviderSpec> = {
  openai,
  'azure-openai': azureOpenai,
  anthropic,
  mistral,
  gemini,
  'openai-compatible': openaiCompatible,
};
export type { ProviderSpec } from './spec.js';
