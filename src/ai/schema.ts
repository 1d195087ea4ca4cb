import { type Static, Type as T } from '@sinclair/typebox';

/**
 * The `ai` section of the config (providers, model aliases, templates) and the `ai` block of a
 * route. Placeholder shapes: the AI gateway module owns and extends them.
 */
export const AiProvider = T.Object(
  {
    name: T.String({ description: 'Provider name, referenced by model targets.' }),
    kind: T.String({
      description: 'Wire format: openai, azure-openai, anthropic, mistral, gemini, openai-compatible.',
    }),
    baseUrl: T.Optional(
      T.String({ description: 'Base URL (required for openai-compatible and azure-openai).' }),
    ),
    apiKey: T.Optional(T.String({ description: 'API key, as a secret reference (`${env:NAME}`).' })),
  },
  { additionalProperties: false },
);

export const AiSection = T.Object(
  {
    providers: T.Array(AiProvider, { default: [], description: 'LLM providers.' }),
  },
  { additionalProperties: false },
);

export const AiRoute = T.Object(
  {
    endpoint: T.Unsafe<'openai' | 'anthropic' | 'template'>({
      type: 'string',
      enum: ['openai', 'anthropic', 'template'],
      description:
        'Which API the route serves: `openai` (chat completions, embeddings, models), `anthropic` (messages) or `template`.',
    }),
    template: T.Optional(T.String({ description: 'With endpoint `template`: the template name.' })),
  },
  { additionalProperties: false },
);

export type AiSectionConfig = Static<typeof AiSection>;
export type AiRouteConfig = Static<typeof AiRoute>;
