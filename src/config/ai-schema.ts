import { type Static, Type as T } from '@sinclair/typebox';

/**
 * The `ai` section of the config (providers, model aliases, prices, templates, cache) and the
 * `ai` block of a route. Every field has a description: the docs table and the console form
 * are generated from here.
 */
const strict = { additionalProperties: false } as const;

export const PROVIDER_KINDS = [
  'openai',
  'azure-openai',
  'anthropic',
  'mistral',
  'gemini',
  'openai-compatible',
] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const AiProvider = T.Object(
  {
    name: T.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'Provider name, referenced by model targets (`provider: openai-main`).',
    }),
    kind: T.Unsafe<ProviderKind>({
      type: 'string',
      enum: [...PROVIDER_KINDS],
      description: 'Wire format: openai, azure-openai, anthropic, mistral, gemini, openai-compatible.',
    }),
    baseUrl: T.Optional(
      T.String({
        description:
          'Base URL. Required for `openai-compatible` (e.g. `http://ollama:11434/v1`) and `azure-openai` (`https://NAME.openai.azure.com`); defaults to the public API otherwise.',
      }),
    ),
    apiKey: T.Optional(
      T.String({ description: 'API key, as a secret reference (`${env:OPENAI_API_KEY}`). Never logged.' }),
    ),
    apiVersion: T.Optional(
      T.String({
        description:
          'API version: `api-version` query of Azure OpenAI, `anthropic-version` header of Anthropic.',
      }),
    ),
    headers: T.Optional(
      T.Record(T.String({ pattern: '^[A-Za-z0-9-]+$' }), T.String(), {
        description: 'Extra headers sent to the provider (organisation ids and the like).',
      }),
    ),
    connections: T.Integer({
      minimum: 1,
      default: 64,
      description:
        'Maximum connections to the provider. The pool survives revisions that leave the provider unchanged.',
    }),
    keepAliveMs: T.Integer({
      minimum: 1,
      default: 30000,
      description: 'Idle keep-alive time of pooled connections.',
    }),
  },
  strict,
);

export const AiTarget = T.Object(
  {
    provider: T.String({ description: 'Name of a provider in `ai.providers`.' }),
    model: T.String({ minLength: 1, description: "The provider's model name (Azure: the deployment name)." }),
    weight: T.Integer({
      minimum: 0,
      maximum: 1000,
      default: 1,
      description: 'Share of traffic under the `weighted` strategy. 0 keeps the target as a fallback only.',
    }),
    timeoutMs: T.Integer({
      minimum: 1,
      default: 60000,
      description:
        'Time allowed for the provider to answer with headers (for streams, roughly the time to first token).',
    }),
    idleTimeoutMs: T.Integer({
      minimum: 1,
      default: 120000,
      description: 'Time allowed between two body chunks of the answer.',
    }),
  },
  strict,
);

export const AiRetries = T.Object(
  {
    attempts: T.Integer({
      minimum: 0,
      maximum: 10,
      default: 0,
      description:
        'Extra attempts on the same target after a retryable failure (connect error, timeout, 429, 5xx).',
    }),
    backoffMs: T.Integer({
      minimum: 0,
      default: 100,
      description: 'Base delay; retry n waits a random time up to backoffMs * 2^(n-1) (full jitter).',
    }),
    maxBackoffMs: T.Integer({ minimum: 0, default: 2000, description: 'Cap of one backoff delay.' }),
  },
  strict,
);

export const AiModel = T.Object(
  {
    name: T.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
      description: 'The alias callers send as `model` (`fast`, `gpt-4o`).',
    }),
    strategy: T.Unsafe<'single' | 'weighted' | 'fallback'>({
      type: 'string',
      enum: ['single', 'weighted', 'fallback'],
      default: 'single',
      description:
        '`single` (the first target), `weighted` (spread by weight; the others are fallbacks) or `fallback` (targets in order, the next on a retryable failure).',
    }),
    targets: T.Array(AiTarget, { minItems: 1, description: 'Where the alias sends.' }),
    retries: T.Optional(AiRetries),
    embeddings: T.Boolean({
      default: false,
      description: 'Listed as an embeddings model in `GET /v1/models`.',
    }),
  },
  strict,
);

export const AiPrice = T.Object(
  {
    model: T.String({
      description: 'Provider model name (`gpt-4o-mini`) or `provider/model`; the more specific entry wins.',
    }),
    inputPerMillion: T.Number({ minimum: 0, description: 'Price of one million input (prompt) tokens.' }),
    outputPerMillion: T.Number({
      minimum: 0,
      description: 'Price of one million output (completion) tokens.',
    }),
  },
  strict,
);

export const AiTemplateVariable = T.Object(
  {
    required: T.Boolean({ default: true, description: 'Refuse the call when the variable is missing.' }),
    maxLength: T.Integer({
      minimum: 1,
      default: 10000,
      description: 'Longest accepted value, in characters.',
    }),
    enum: T.Optional(T.Array(T.String(), { description: 'Accepted values, when only some are allowed.' })),
    default: T.Optional(T.String({ description: 'Value used when the caller sends none.' })),
  },
  strict,
);

export const AiTemplate = T.Object(
  {
    name: T.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'Template name, used by routes.',
    }),
    model: T.String({ description: 'Model alias the template calls.' }),
    system: T.Optional(T.String({ description: 'System message; `{{name}}` inserts a variable.' })),
    user: T.String({ description: 'User message; `{{name}}` inserts a variable.' }),
    variables: T.Record(T.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), AiTemplateVariable, {
      default: {},
      description: 'Variables the caller sends as JSON properties; any other property is refused.',
    }),
    parameters: T.Optional(
      T.Object(
        {
          temperature: T.Optional(T.Number({ minimum: 0, maximum: 2, description: 'Sampling temperature.' })),
          max_tokens: T.Optional(T.Integer({ minimum: 1, description: 'Cap on output tokens.' })),
          json: T.Optional(T.Boolean({ description: 'Ask for a JSON object (JSON mode).' })),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const AiCache = T.Object(
  {
    ttlMs: T.Integer({ minimum: 1, default: 300000, description: 'How long a cached answer is served.' }),
    maxEntries: T.Integer({ minimum: 1, default: 1000, description: 'Entries kept; the oldest go first.' }),
    maxEntryBytes: T.Integer({ minimum: 1, default: 262144, description: 'Larger answers are not cached.' }),
  },
  strict,
);

export const AiSection = T.Object(
  {
    providers: T.Array(AiProvider, { default: [], description: 'LLM providers.' }),
    models: T.Array(AiModel, { default: [], description: 'Model aliases and their routing strategies.' }),
    prices: T.Array(AiPrice, {
      default: [],
      description: 'Price table used for usage cost and cost budgets.',
    }),
    templates: T.Array(AiTemplate, {
      default: [],
      description: 'Prompt templates, published with `endpoint: template` routes.',
    }),
    cache: T.Optional(AiCache),
    directModels: T.Boolean({
      default: false,
      description: 'Also accept `provider/model` as a model name, without an alias.',
    }),
  },
  strict,
);

export const AiRoute = T.Object(
  {
    endpoint: T.Unsafe<'openai' | 'anthropic' | 'template'>({
      type: 'string',
      enum: ['openai', 'anthropic', 'template'],
      description:
        'Which API the route serves: `openai` (`…/chat/completions`, `…/embeddings`, `…/models` under the route path), `anthropic` (`…/messages`) or `template`.',
    }),
    template: T.Optional(T.String({ description: 'With endpoint `template`: the template name.' })),
    models: T.Optional(
      T.Array(T.String(), { description: 'Aliases callers of this route may use. Absent: every alias.' }),
    ),
    cache: T.Boolean({
      default: false,
      description: 'Serve identical non-streaming requests from the exact-match cache (`ai.cache`).',
    }),
  },
  strict,
);

export type AiSectionConfig = Static<typeof AiSection>;
export type AiRouteConfig = Static<typeof AiRoute>;
export type AiProviderConfig = Static<typeof AiProvider>;
export type AiModelConfig = Static<typeof AiModel>;
export type AiTargetConfig = Static<typeof AiTarget>;
export type AiTemplateConfig = Static<typeof AiTemplate>;
