import { type Static, Type as T } from '@sinclair/typebox';
import { AiRoute, AiSection } from './ai-schema.js';

/** A string enum that validates as `enum` (one clear error) rather than a union of literals. */
function OneOf<const V extends readonly string[]>(
  values: V,
  opts: { default?: V[number]; description: string },
) {
  return T.Unsafe<V[number]>({ type: 'string', enum: [...values], ...opts });
}

/**
 * The one configuration schema. It yields the TypeScript types (Static<>), the validator
 * (compiled with Ajv in validate.ts) and the reference table in docs/config.md
 * (scripts/gen-docs.ts). Every field carries a description; unknown keys are errors.
 */
const strict = { additionalProperties: false } as const;
const Name = T.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
  description: 'Unique name: letters, digits, `.`, `_`, `-`.',
});

export const Target = T.Object(
  {
    url: T.String({
      description: 'Base URL of the target, `http://host:port[/base-path]` or `https://...`.',
      minLength: 1,
    }),
    weight: T.Integer({
      minimum: 0,
      maximum: 1000,
      default: 1,
      description: 'Share of traffic under `weighted` balancing. 0 drains the target.',
    }),
  },
  strict,
);

export const Timeouts = T.Object(
  {
    connectMs: T.Integer({
      minimum: 1,
      default: 5000,
      description: 'Time to open a TCP/TLS connection to a target.',
    }),
    readMs: T.Integer({
      minimum: 1,
      default: 60000,
      description: 'Time to wait for response headers, and between two body chunks.',
    }),
    totalMs: T.Integer({
      minimum: 1,
      default: 120000,
      description: 'Time for the whole upstream exchange, body included.',
    }),
  },
  strict,
);

export const Retries = T.Object(
  {
    attempts: T.Integer({
      minimum: 0,
      maximum: 10,
      default: 0,
      description:
        'Extra attempts after the first. Only idempotent methods without a request body are retried, and only before any byte went to the client.',
    }),
    backoffMs: T.Integer({
      minimum: 0,
      default: 50,
      description: 'Base delay; attempt n waits backoffMs * 2^(n-1), with full jitter.',
    }),
    onStatuses: T.Array(T.Integer({ minimum: 500, maximum: 599 }), {
      default: [502, 503, 504],
      description: 'Upstream statuses that count as a failed attempt.',
    }),
  },
  strict,
);

export const HealthChecks = T.Object(
  {
    passive: T.Optional(
      T.Object(
        {
          failures: T.Integer({
            minimum: 1,
            default: 5,
            description: 'Consecutive failures (connect errors, timeouts, 5xx) that eject a target.',
          }),
          cooldownMs: T.Integer({
            minimum: 1,
            default: 30000,
            description: 'How long an ejected target stays out before it is tried again.',
          }),
        },
        strict,
      ),
    ),
    active: T.Optional(
      T.Object(
        {
          path: T.String({ default: '/', description: 'Path probed with GET on each target.' }),
          intervalMs: T.Integer({ minimum: 100, default: 5000, description: 'Time between probes.' }),
          timeoutMs: T.Integer({ minimum: 1, default: 2000, description: 'Probe timeout.' }),
          healthyStatuses: T.Array(T.Integer({ minimum: 100, maximum: 599 }), {
            default: [200, 204],
            description: 'Statuses that count as healthy.',
          }),
          unhealthyThreshold: T.Integer({
            minimum: 1,
            default: 2,
            description: 'Failed probes in a row that mark a target unhealthy.',
          }),
          healthyThreshold: T.Integer({
            minimum: 1,
            default: 2,
            description: 'Good probes in a row that mark it healthy again.',
          }),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const Service = T.Object(
  {
    name: Name,
    targets: T.Array(Target, { minItems: 1, description: 'Upstream targets.' }),
    loadBalancing: OneOf(['round-robin', 'weighted', 'least-connections'], {
      default: 'round-robin',
      description:
        'How a target is picked: `round-robin`, `weighted` (smooth weighted round-robin) or `least-connections`.',
    }),
    timeouts: T.Optional(Timeouts),
    retries: T.Optional(Retries),
    healthChecks: T.Optional(HealthChecks),
    keepAliveMs: T.Integer({
      minimum: 1,
      default: 4000,
      description: 'Idle keep-alive time of pooled upstream connections.',
    }),
    connections: T.Integer({ minimum: 1, default: 128, description: 'Maximum connections per target.' }),
    maxConnections: T.Optional(
      T.Integer({
        minimum: 1,
        description:
          'Most requests in flight to this service at once, over all its targets (each holds one upstream connection). Absent: `connections` times the number of targets. Requests beyond wait in a bounded queue (`queueSize`, `queueTimeoutMs`), then get 503 `PCS_ERR_UPSTREAM_BUSY`.',
      }),
    ),
    queueSize: T.Integer({
      minimum: 0,
      default: 1000,
      description:
        'Requests that may wait for one of the `maxConnections`; beyond, 503 `PCS_ERR_UPSTREAM_BUSY` at once. 0: never wait.',
    }),
    queueTimeoutMs: T.Integer({
      minimum: 1,
      default: 5000,
      description: 'Longest wait in that queue before 503 `PCS_ERR_UPSTREAM_BUSY`.',
    }),
    bufferBodyBytes: T.Integer({
      minimum: 0,
      default: 65536,
      description:
        'Request bodies with a Content-Length up to this size are read whole from the client before an upstream connection is taken, so a slow client holds none. Larger or chunked bodies stream. 0: always stream.',
    }),
  },
  strict,
);

/** The path normalisation fields, with the gateway's defaults. */
const pathNormalizationFields = {
  mergeSlashes: T.Boolean({
    default: true,
    description: 'Take `//` as `/` (as nginx `merge_slashes` does) before routing.',
  }),
  escapedSlashes: OneOf(['reject', 'decode', 'keep'], {
    default: 'reject',
    description:
      '`%2F` and `%5C` in the path: `reject` (400), `decode` (to `/` and `\\`, then routed as such) or `keep` (forwarded encoded, part of their segment).',
  }),
  backslashes: OneOf(['reject', 'slash', 'keep'], {
    default: 'reject',
    description: 'A raw `\\` in the path: `reject` (400), `slash` (taken as `/`, as IIS does) or `keep`.',
  }),
  pathParams: OneOf(['reject', 'strip', 'keep'], {
    default: 'reject',
    description:
      'Matrix parameters (`/a;jsessionid=1/b`): `reject` (400), `strip` (removed, as Tomcat does) or `keep`.',
  }),
  trailingDotOrSpace: OneOf(['reject', 'strip', 'keep'], {
    default: 'reject',
    description:
      'A segment ending in `.` or `%20` (`/admin.`, which Windows servers take for `/admin`): `reject` (400), `strip` or `keep`.',
  }),
  caseInsensitive: T.Boolean({
    default: false,
    description: 'Match route paths in any letter case (set it for case-folding upstreams such as IIS).',
  }),
};

/** The same fields without defaults: a route's absent field inherits the gateway's. */
function withoutDefaults<F extends Record<string, object>>(fields: F): F {
  const out: Record<string, object> = {};
  for (const [k, v] of Object.entries(fields)) {
    const { default: _unused, ...rest } = v as { default?: unknown };
    out[k] = rest;
  }
  return out as F;
}

export const GatewayPathNormalization = T.Object(pathNormalizationFields, {
  ...strict,
  description:
    'How request paths are normalised and which spellings are refused, for every route (docs/hardening.md).',
});

export const RoutePathNormalization = T.Partial(T.Object(withoutDefaults(pathNormalizationFields)), {
  ...strict,
  description: "This route's overrides of `gateway.pathNormalization`; absent fields inherit it.",
});

export const Route = T.Object(
  {
    name: Name,
    service: T.Optional(
      T.String({
        description: 'Name of the service this route sends to. Exactly one of `service` and `ai`.',
      }),
    ),
    ai: T.Optional(AiRoute),
    paths: T.Array(T.String({ pattern: '^/', maxLength: 2048 }), {
      minItems: 1,
      description:
        'Paths. By default a prefix match on segment boundaries (`/hello` matches `/hello` and `/hello/x`, not `/helloworld`). `:name` segments capture parameters.',
    }),
    pathMatch: OneOf(['prefix', 'exact'], { default: 'prefix', description: '`prefix` or `exact`.' }),
    hosts: T.Optional(
      T.Array(T.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d+)?$' }), {
        description: 'Host names, exact or `*.example.com`. Absent: any host.',
      }),
    ),
    methods: T.Optional(
      T.Array(T.String({ pattern: '^[A-Z]+$' }), { description: 'HTTP methods. Absent: any method.' }),
    ),
    headers: T.Optional(
      T.Record(T.String({ pattern: '^[A-Za-z0-9-]+$' }), T.String(), {
        description: 'Headers that must be present with exactly this value.',
      }),
    ),
    priority: T.Integer({
      default: 0,
      description: 'Tie-breaker between routes that match equally well: higher wins.',
    }),
    timeouts: T.Optional(
      T.Object(
        {
          readMs: T.Optional(
            T.Integer({
              minimum: 1,
              description: "Overrides the service's `timeouts.readMs` for this route.",
            }),
          ),
          totalMs: T.Optional(
            T.Integer({
              minimum: 1,
              description: "Overrides the service's `timeouts.totalMs` for this route.",
            }),
          ),
        },
        {
          ...strict,
          description: 'Upstream timeouts for this route (a slow report endpoint, a quick health route).',
        },
      ),
    ),
    pathNormalization: T.Optional(RoutePathNormalization),
    stripPath: T.Boolean({
      default: false,
      description: 'Remove the matched path prefix before sending upstream.',
    }),
    preserveHost: T.Boolean({
      default: false,
      description: "Send the client's Host header upstream instead of the target's.",
    }),
    version: T.Optional(T.String({ description: 'API version label, reported in the access log.' })),
    lifecycle: OneOf(['active', 'deprecated', 'sunset'], {
      default: 'active',
      description: '`deprecated` adds `Deprecation: true`; `sunset` answers 410.',
    }),
  },
  strict,
);

export const Scope = T.Union(
  [
    T.Literal('global'),
    T.Object({ service: T.String() }, strict),
    T.Object({ route: T.String() }, strict),
    T.Object({ group: T.String() }, strict),
    T.Object({ consumer: T.String() }, strict),
  ],
  {
    description:
      '`global`, `{ service }`, `{ route }`, `{ group }` or `{ consumer }`. The most specific wins.',
  },
);

export const PolicyInstance = T.Object(
  {
    name: T.String({ description: 'The policy type, e.g. `ip-restriction`.' }),
    id: T.Optional(
      T.String({
        pattern: '^[A-Za-z0-9._-]{1,128}$',
        description: 'Instance id, to tell several instances of one type apart (defaults to the name).',
      }),
    ),
    scope: T.Optional(Scope),
    mode: OneOf(['enforce', 'shadow', 'off'], {
      default: 'enforce',
      description: '`enforce`, `shadow` (record would_deny, let it pass) or `off`.',
    }),
    config: T.Optional(
      T.Record(T.String(), T.Unknown(), { description: "The policy's own settings; see docs/policies/." }),
    ),
  },
  strict,
);

export const ConsumerDecl = T.Object(
  {
    name: Name,
    groups: T.Optional(T.Array(T.String(), { description: 'Consumer groups.' })),
    metadata: T.Optional(T.Record(T.String(), T.Unknown(), { description: 'Free attributes for policies.' })),
  },
  strict,
);

export const RequestLogSettings = T.Object(
  {
    enabled: T.Boolean({
      default: false,
      description:
        'Record requests in the store (`request_log`) for replay and shadow summaries. Writes are batched off the request path.',
    }),
    sampleRate: T.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description: 'Share of requests recorded, 0 to 1 (1 records every request).',
    }),
    headers: T.Array(T.String({ minLength: 1, maxLength: 128 }), {
      default: ['user-agent', 'content-type', 'content-length', 'accept', 'origin', 'referer'],
      description:
        'Request headers kept with each record. Authorization, cookies and API-key-like headers are never kept unless listed here, and then masked.',
    }),
    captureBody: T.Optional(
      T.Object(
        {
          enabled: T.Boolean({
            default: false,
            description:
              'Keep the request body when a policy buffered it (WAF, schema validation, AI). Bodies streamed straight upstream are not recorded.',
          }),
          maskFields: T.Array(T.String({ minLength: 1 }), {
            default: [
              'password',
              'secret',
              'token',
              'apiKey',
              'api_key',
              'authorization',
              'creditCard',
              'card_number',
            ],
            description: 'JSON field names (any depth, case-insensitive) whose values are replaced by `***`.',
          }),
          maskPatterns: T.Array(T.String({ minLength: 1, maxLength: 500, format: 'regex' }), {
            default: [],
            description:
              'Regular expressions (JavaScript syntax, case-sensitive); every match in the body is replaced by `***` (after field masking). Matched in linear time by RE2; refused when the revision compiles if they use what RE2 lacks (backreferences, lookarounds).',
          }),
          maxBodyBytes: T.Integer({
            minimum: 0,
            maximum: 1048576,
            default: 4096,
            description: 'Bytes of body kept; longer bodies are cut and marked truncated.',
          }),
        },
        strict,
      ),
    ),
    retention: T.Optional(
      T.Object(
        {
          maxAgeHours: T.Number({
            minimum: 0,
            default: 72,
            description: 'Records older than this are deleted in the background (0 keeps them by age).',
          }),
          maxRows: T.Integer({
            minimum: 0,
            default: 1000000,
            description: 'Only the newest rows are kept beyond this count (0: no limit).',
          }),
        },
        strict,
      ),
    ),
    queueSize: T.Integer({
      minimum: 1,
      maximum: 1000000,
      default: 10000,
      description:
        'Records waiting to be written. When full, new records are dropped and counted (`portcullis_request_log_dropped_total`); requests never wait.',
    }),
  },
  strict,
);

export const GatewaySettings = T.Object(
  {
    trustedProxies: T.Array(T.String(), {
      default: [],
      description:
        'CIDRs of proxies in front of the gateway. Their X-Forwarded-For entries are believed when computing the client IP.',
    }),
    clientTimeouts: T.Optional(
      T.Object(
        {
          headersMs: T.Integer({
            minimum: 100,
            default: 10000,
            description:
              'Time for a client to send the request line and headers (slowloris is cut here: 408).',
          }),
          requestMs: T.Integer({
            minimum: 0,
            default: 60000,
            description:
              'Time for a client to send the whole request, body included (slow POST is cut here: 408). 0: no limit.',
          }),
          keepAliveMs: T.Integer({
            minimum: 0,
            default: 5000,
            description: 'How long an idle kept-alive client connection stays open.',
          }),
        },
        {
          ...strict,
          description:
            'Client-side timeouts, applied to the running listener on every revision: no restart needed. Defaults are safe for the internet.',
        },
      ),
    ),
    limits: T.Optional(
      T.Object(
        {
          maxUrlLength: T.Integer({
            minimum: 64,
            default: 8192,
            description: 'Longest request target accepted (414 beyond).',
          }),
          maxBufferedBodyBytes: T.Integer({
            minimum: 0,
            default: 1048576,
            description:
              'Largest body the gateway buffers when a policy must read it (schema validation, WAF, AI); 413 beyond.',
          }),
          maxHeaders: T.Integer({
            minimum: 1,
            maximum: 10000,
            default: 1000,
            description:
              'Most header fields a request may carry (each repeated field counts); 431 `PCS_ERR_TOO_MANY_HEADERS` beyond, never a silent cut.',
          }),
        },
        strict,
      ),
    ),
    pathNormalization: T.Optional(GatewayPathNormalization),
    allowTrace: T.Boolean({
      default: false,
      description:
        'Forward TRACE requests. Off: they are refused with 405 `PCS_ERR_METHOD_NOT_ALLOWED` (they echo the request, cookies and credentials included, back to the caller). CONNECT is always refused: the gateway is not a forward proxy.',
    }),
    bodyOnGet: OneOf(['refuse', 'strip', 'forward'], {
      default: 'refuse',
      description:
        'A GET or HEAD request with a body (Content-Length above 0, or Transfer-Encoding): `refuse` answers 400 `PCS_ERR_BODY_NOT_ALLOWED`; `strip` sends it upstream without the body; `forward` sends the body on (for upstreams such as Elasticsearch that read one).',
    }),
    requestLog: T.Optional(RequestLogSettings),
    approvals: T.Optional(
      T.Object(
        {
          required: T.Boolean({
            default: false,
            description:
              'Changes to security policies made through the admin API need an approval by a second admin (`POST /proposals`); a direct `POST /config` or `POST /canary` that touches one is refused with 409.',
          }),
          policies: T.Optional(
            T.Array(T.String({ minLength: 1 }), {
              description:
                'Policy names (`waf`, `ip-restriction`...) whose changes need approval; absent: every policy. Changes to `gateway.approvals` itself always need one.',
            }),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const Config = T.Object(
  {
    services: T.Array(Service, { default: [], description: 'Upstream services.' }),
    routes: T.Array(Route, { default: [], description: 'Routes from requests to services.' }),
    policies: T.Array(PolicyInstance, {
      default: [],
      description: 'Policy instances and where they attach.',
    }),
    consumers: T.Optional(
      T.Array(ConsumerDecl, {
        description: 'Consumers upserted into the store on apply (data, not part of the revision).',
      }),
    ),
    ai: T.Optional(AiSection),
    gateway: T.Optional(GatewaySettings),
  },
  { ...strict, $id: 'PortcullisConfig' },
);

export type Config = Static<typeof Config>;
export type ServiceConfig = Static<typeof Service>;
export type RouteConfig = Static<typeof Route>;
export type PolicyConfig = Static<typeof PolicyInstance>;
export type ScopeConfig = Static<typeof Scope>;
export type ConsumerConfig = Static<typeof ConsumerDecl>;
export type RequestLogConfig = Static<typeof RequestLogSettings>;
