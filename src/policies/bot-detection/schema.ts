import { type Static, Type as T } from '@sinclair/typebox';

export const BOT_CLASSES = [
  'crawler',
  'headless',
  'library',
  'missing',
  'inconsistent',
  'unknown',
  'browser',
] as const;
export type BotClass = (typeof BOT_CLASSES)[number];

const Action = (dflt: string, what: string) =>
  T.Union([T.Literal('allow'), T.Literal('tag'), T.Literal('rate-limit'), T.Literal('deny')], {
    default: dflt,
    description: `${what} Default \`${dflt}\`.`,
  });

export const BotDetectionSchema = T.Object(
  {
    actions: T.Object(
      {
        crawler: Action(
          'tag',
          'Known crawlers and bots by user agent (the `isbot` list: Googlebot, bingbot, GPTBot, ...).',
        ),
        headless: Action(
          'deny',
          'Headless and automated browsers (HeadlessChrome, PhantomJS, Puppeteer, Playwright, Selenium, `navigator.webdriver` markers).',
        ),
        library: Action(
          'tag',
          'HTTP libraries and tools (curl, Wget, python-requests, aiohttp, Go-http-client, okhttp, Java, axios, node-fetch, ...).',
        ),
        missing: Action('tag', 'No `User-Agent` at all.'),
        inconsistent: Action(
          'tag',
          'A browser user agent without the headers that browser always sends (`Accept`, `Accept-Language`, and on HTTPS `Sec-Fetch-*` for Chromium 80+ and Firefox 90+).',
        ),
        unknown: Action('allow', 'Any other user agent.'),
        browser: Action('allow', 'A browser user agent with consistent headers.'),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'What to do with each class: `allow`, `tag` (header to the upstream), `rate-limit` or `deny` (403 `PCS_ERR_BOT_DENIED`).',
      },
    ),
    tagHeader: T.String({
      default: 'x-bot-class',
      pattern: '^[A-Za-z0-9-]+$',
      description:
        'Request header carrying the class to the upstream for `tag` classes. A client-sent header of that name is removed on every route of the revision.',
    }),
    rateLimit: T.Object(
      {
        requests: T.Integer({ minimum: 1, default: 60, description: 'Requests allowed per `perSeconds`.' }),
        perSeconds: T.Integer({ minimum: 1, default: 60, description: 'The period of `requests`.' }),
        burst: T.Optional(T.Integer({ minimum: 1, description: 'Bucket size (default `requests`).' })),
        key: T.Union([T.Literal('class'), T.Literal('class+ip')], {
          default: 'class+ip',
          description:
            '`class+ip`: one GCRA bucket per class and client IP; `class`: one bucket per class for everyone.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'The limit for `rate-limit` classes (429 `PCS_ERR_RATE_LIMITED`).',
      },
    ),
    exempt: T.Array(T.String({ minLength: 3, maxLength: 200 }), {
      default: [],
      description:
        'User-agent substrings (case-insensitive) that are always allowed: your own monitoring or partners.',
    }),
    secFetch: T.Union([T.Literal('https'), T.Literal('always'), T.Literal('never')], {
      default: 'https',
      description:
        'When missing `Sec-Fetch-*` makes a modern browser `inconsistent`: browsers send them only to secure origins, so by default on HTTPS listeners only.',
    }),
  },
  { additionalProperties: false },
);

export type BotDetectionConfig = Static<typeof BotDetectionSchema>;
