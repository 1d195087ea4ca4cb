/**
 * Every error the gateway answers with, in one registry. A code is never reused or renamed:
 * clients and dashboards key on it. docs/errors.md is generated from this file (npm run docs).
 */
export interface ErrorSpec {
  status: number;
  /** What the client is told. Short, and never the cause in detail. */
  message: string;
  /** What the operator should do. Rendered in docs/errors.md. */
  fix: string;
}

export const ERRORS = {
  PCS_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    message: 'No route matches the request',
    fix: 'Check the route paths, hosts, methods and headers in the active revision (`portcullis revisions`, `GET /config`).',
  },
  PCS_ERR_ROUTE_SUNSET: {
    status: 410,
    message: 'This API has been retired',
    fix: 'The route has `lifecycle: sunset`. Move clients to its successor, or set the route back to `deprecated`.',
  },
  PCS_ERR_BAD_REQUEST: {
    status: 400,
    message: 'Malformed request',
    fix: 'The client sent HTTP the gateway cannot parse (bad request line, invalid header characters, conflicting Content-Length and Transfer-Encoding). Fix the client.',
  },
  PCS_ERR_PATH_REJECTED: {
    status: 400,
    message: 'Request path not accepted',
    fix: "The path uses a spelling that upstreams read differently (encoded slashes, a backslash, `;` parameters, a trailing dot or space, a control character, `..` above the root, invalid percent-encoding). The access log `detail` names it. If a route legitimately receives it, set that route's `pathNormalization` (docs/hardening.md).",
  },
  PCS_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    message: 'Request headers too large',
    fix: 'Raise `gateway.limits.maxHeaderBytes` if the client legitimately sends large headers.',
  },
  PCS_ERR_URI_TOO_LONG: {
    status: 414,
    message: 'Request URI too long',
    fix: 'Raise `gateway.limits.maxUrlLength` if the client legitimately sends long URLs.',
  },
  PCS_ERR_TOO_MANY_HEADERS: {
    status: 431,
    message: 'Too many request header fields',
    fix: 'The client sent more header fields than `gateway.limits.maxHeaders` (1000 by default; each repeated field counts). Fix the client, or raise the limit if it is legitimate.',
  },
  PCS_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'Method not allowed',
    fix: 'CONNECT is always refused (the gateway is not a forward proxy). TRACE is refused unless `gateway.allowTrace: true`: it reflects the request, credentials included, back to the caller.',
  },
  PCS_ERR_BODY_NOT_ALLOWED: {
    status: 400,
    message: 'This method does not take a request body',
    fix: 'A GET or HEAD request carried a body, refused by `gateway.bodyOnGet: refuse` (the default). Send the body with POST, or set `bodyOnGet` to `strip` (drop it) or `forward` (for upstreams that read one).',
  },
  PCS_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'Request not received in time',
    fix: 'The client was too slow sending headers or body. Raise `gateway.timeouts` only if slow clients are legitimate.',
  },
  PCS_ERR_CLIENT_ABORTED: {
    status: 499,
    message: 'Client closed the request',
    fix: 'Nothing to fix on the gateway: the client went away before the answer. Logged and counted only.',
  },
  PCS_ERR_NOT_READY: {
    status: 503,
    message: 'Gateway is starting',
    fix: 'The gateway has bound its ports but has not loaded its first revision yet (a start takes the ports before it writes to the store). Retry in a moment; if it lasts, read the start-up log.',
  },
  PCS_ERR_UPSTREAM_UNAVAILABLE: {
    status: 502,
    message: 'Upstream unavailable',
    fix: 'The gateway could not connect to the upstream target or the connection was reset. Check the target URL and that the service is up.',
  },
  PCS_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'Upstream timed out',
    fix: 'The upstream did not answer within the service timeouts (`timeouts.connectMs`, `readMs`, `totalMs`). Raise them or fix the upstream.',
  },
  PCS_ERR_NO_HEALTHY_UPSTREAM: {
    status: 503,
    message: 'No healthy upstream',
    fix: 'Every target of the service is ejected by passive or active health checks. See `GET /status` for target health.',
  },
  PCS_ERR_UPSTREAM_BUSY: {
    status: 503,
    message: 'Upstream busy',
    fix: 'The service had `maxConnections` requests in flight and `queueSize` more waiting, or a request waited longer than `queueTimeoutMs`. Raise them if the upstream can take more, or scale it; `portcullis_upstream_errors_total{kind="busy"}` counts these.',
  },
  PCS_ERR_UPSTREAM_BAD_RESPONSE: {
    status: 502,
    message: 'Upstream sent an invalid response',
    fix: 'The upstream closed the connection or answered with malformed HTTP. Check the upstream logs.',
  },
  PCS_ERR_POLICY_FAILURE: {
    status: 500,
    message: 'Internal gateway error',
    fix: 'A policy raised an unexpected error. The access log and the error log name the policy and the cause; please report it.',
  },
  PCS_ERR_IP_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: 'The client IP matched a deny rule or no allow rule of `ip-restriction`. The access log names the rule.',
  },
  PCS_ERR_JSON_TOO_COMPLEX: {
    status: 400,
    message: 'JSON body too deeply nested or too wide',
    fix: 'The JSON body crossed `request-size-limit.json` (maxDepth, maxArrayLength or maxObjectKeys); the access log names the limit. Raise it for the route if such bodies are legitimate.',
  },
  PCS_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'Request body too large',
    fix: 'The body exceeded `request-size-limit.maxBodyBytes`. Raise the limit for the route if such bodies are legitimate.',
  },
  PCS_ERR_CORS_ORIGIN_DENIED: {
    status: 403,
    message: 'Origin not allowed',
    fix: 'The `Origin` header is not in the `cors.origins` list of the route. Add it if the site is trusted.',
  },
  PCS_ERR_ADMIN_UNAUTHORIZED: {
    status: 401,
    message: 'Missing or invalid admin token',
    fix: 'Send `Authorization: Bearer <token>` with the token given at start (`PORTCULLIS_ADMIN_TOKEN` or `--admin-token-file`).',
  },
  PCS_ERR_CONFIG_INVALID: {
    status: 400,
    message: 'Configuration refused',
    fix: 'The body lists every error by JSON path. Fix them and apply again; the running revision was not changed.',
  },
  PCS_ERR_ADMIN_BAD_INPUT: {
    status: 400,
    message: 'Invalid request to the admin API',
    fix: 'The request body or parameters do not match the admin API schema (`GET /openapi.json`).',
  },
  PCS_ERR_ADMIN_NOT_FOUND: {
    status: 404,
    message: 'Not found',
    fix: 'The revision, consumer or endpoint does not exist.',
  },
  PCS_ERR_ADMIN_CONFLICT: {
    status: 409,
    message: 'Conflict',
    fix: 'The object already exists, or was changed concurrently. Read it again and retry.',
  },
  PCS_ERR_ADMIN_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'Admin request body too large',
    fix: 'Admin request bodies are capped at `admin.maxBodyBytes` (default 10 MiB).',
  },
  PCS_ERR_ADMIN_FORBIDDEN: {
    status: 403,
    message: 'Not allowed for this admin',
    fix: 'The admin has the `viewer` role (read only), or the action needs another admin (an author cannot approve their own proposal). Use an admin with the `admin` role, or ask a second admin.',
  },
  PCS_ERR_ADMIN_PENDING: {
    status: 403,
    message: 'This admin waits for a confirmation',
    fix: 'The admin was created while `gateway.approvals` is on: a second admin (not its creator) must confirm it (`POST /admins/:name/confirm`, `portcullis admins confirm <name>`) before its token works.',
  },
  PCS_ERR_APPROVAL_REQUIRED: {
    status: 409,
    message: 'This change needs an approval',
    fix: "The live revision sets `gateway.approvals` and the change touches a protected policy, takes one away from a path (a route moved, or a new route in front), weakens a consumer's group-scoped policies, or rolls back to such a revision. Propose it (`POST /proposals`, `portcullis proposals create`) and have another admin approve it.",
  },
  PCS_ERR_CANARY_CONFLICT: {
    status: 409,
    message: 'A canary is running',
    fix: 'A canary revision is live for a slice of traffic. Promote it (`portcullis canary promote`) or abort it (`portcullis canary abort`) before applying or starting another; `GET /canary` shows it.',
  },
  PCS_ERR_AUTH_REQUIRED: {
    status: 401,
    message: 'Authentication required',
    fix: 'The request carried no credentials the route accepts. The `WWW-Authenticate` header names the scheme; send the API key, token, password, signature or client certificate it asks for.',
  },
  PCS_ERR_AUTH_INVALID_KEY: {
    status: 401,
    message: 'Invalid credentials',
    fix: '`key-auth`: the API key is unknown, revoked, expired or malformed. Issue a new one (`portcullis credentials issue <consumer> --kind key-auth`); the access log says which.',
  },
  PCS_ERR_AUTH_INVALID_TOKEN: {
    status: 401,
    message: 'Invalid token',
    fix: '`jwt`, `oidc`, `oauth2-introspection`: the token failed a check (signature, algorithm, issuer, audience, time, required claims, or the authorization server says inactive). The access log `detail` names the check; get a fresh token from the identity provider.',
  },
  PCS_ERR_AUTH_INVALID_CREDENTIALS: {
    status: 401,
    message: 'Invalid credentials',
    fix: '`basic-auth`, `hmac-auth`, `mtls-auth`: the username, password, signature or certificate did not match an active credential of a consumer. The access log `detail` says which check failed.',
  },
  PCS_ERR_AUTH_REPLAY: {
    status: 401,
    message: 'Request signature expired or replayed',
    fix: '`hmac-auth`: the `Date` is outside the allowed clock skew, or the same signature was already used. Sync the client clock (NTP) and sign every request afresh.',
  },
  PCS_ERR_AUTH_PROVIDER_UNAVAILABLE: {
    status: 401,
    message: 'Authentication temporarily unavailable',
    fix: 'The identity provider (JWKS URL, OIDC discovery or introspection endpoint) could not be reached and no cached answer could decide. Check the provider and the network; the `portcullis_auth_provider_errors_total` counter and the log name the URL. `oauth2-introspection` can fail open with `failOpen: true`.',
  },
  PCS_ERR_AUTH_INSUFFICIENT: {
    status: 401,
    message: 'Stronger authentication required',
    fix: '`step-up`: the token does not show the multi-factor authentication the route asks for (`amr` / `acr`). The client must re-authenticate at the identity provider with the asked `acr_values` and retry.',
  },
  PCS_ERR_ACL_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: '`acl`: the consumer is in a denied group, or in none of the allowed groups of the route. The access log `rule` names the group (`deny:contractors`, `allow:none`); add the consumer to a group (`PATCH /consumers/{name}`) or change the policy.',
  },
  PCS_ERR_INSUFFICIENT_SCOPE: {
    status: 403,
    message: 'Insufficient scope',
    fix: '`scopes`: the token lacks an OAuth scope the route and method require. The `WWW-Authenticate` header lists them (`Bearer error="insufficient_scope", scope="..."`); the client must ask the authorization server for them.',
  },
  PCS_ERR_RBAC_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: "`rbac`: none of the consumer's roles grants a permission matching the method and path (deny by default). The access log `detail` lists the roles found; grant the role a permission (`GET /orders/*`) or give the consumer the role.",
  },
  PCS_ERR_ABAC_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: '`abac`: a rule with `effect: deny` matched, no rule matched and the default is deny, or a rule failed to evaluate (missing key, wrong type: denied). The access log `rule` names the rule; test the expression against the logged request.',
  },
  PCS_ERR_OPA_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: '`opa`: the policy engine answered `false` (or `allow: false`, or no result). Check the Rego policy with the `input` the gateway sends (see docs/policies/opa.md).',
  },
  PCS_ERR_AUTHZ_UNAVAILABLE: {
    status: 503,
    message: 'Authorization temporarily unavailable',
    fix: '`opa`: the policy engine did not answer in time, failed, or answered something other than a decision, and the policy fails closed. Check the OPA server and `timeoutMs`; `portcullis_opa_errors_total` counts the failures; `failOpen: true` lets requests through instead.',
  },
  PCS_ERR_AI_BAD_REQUEST: {
    status: 400,
    message: 'Invalid AI request',
    fix: 'The body is not a valid chat, messages, embeddings or template request (the message says which field). Fix the client.',
  },
  PCS_ERR_AI_MODEL_NOT_FOUND: {
    status: 404,
    message: 'Unknown model',
    fix: 'The `model` is not an alias in `ai.models` (nor `provider/model` with `ai.directModels`). Add the alias or fix the client.',
  },
  PCS_ERR_AI_MODEL_NOT_ALLOWED: {
    status: 403,
    message: 'Model not allowed',
    fix: "The alias is not in the route's `ai.models` list, or an `ai-models` policy for the consumer, group or route does not allow it (the access log names the rule). Add it there, or use an allowed alias.",
  },
  PCS_ERR_AI_UNSUPPORTED: {
    status: 400,
    message: 'Operation not supported by the model',
    fix: "The model's provider cannot serve this operation (embeddings on Anthropic, for example). Route it to another alias.",
  },
  PCS_ERR_AI_PROVIDER_UNAVAILABLE: {
    status: 502,
    message: 'AI provider unreachable',
    fix: 'Every target of the alias failed to connect or answered 5xx. Check `ai.providers[].baseUrl`, the provider status, and add a fallback target.',
  },
  PCS_ERR_AI_PROVIDER_TIMEOUT: {
    status: 504,
    message: 'AI provider timed out',
    fix: "The provider did not answer within the target's `timeoutMs` / `idleTimeoutMs`. Raise them or add a fallback target.",
  },
  PCS_ERR_AI_PROVIDER_RATE_LIMITED: {
    status: 429,
    message: 'AI provider rate limit reached',
    fix: 'The provider answered 429 on every target. Add keys or providers to the alias (`weighted`/`fallback`) or lower client traffic.',
  },
  PCS_ERR_AI_PROVIDER_REJECTED: {
    status: 400,
    message: 'AI provider refused the request',
    fix: 'The provider answered 4xx (its message is passed on). Usually a client error (bad parameters, context too long) or a bad provider key.',
  },
  PCS_ERR_AI_BUDGET_EXCEEDED: {
    status: 429,
    message: 'Token or cost budget exhausted',
    fix: 'An `ai-budget` limit was reached for the consumer, group or key. Wait for the window to reset (Retry-After) or raise the limit.',
  },
  PCS_ERR_AI_GUARDRAIL_BLOCKED: {
    status: 400,
    message: 'Request blocked by a guardrail',
    fix: 'An AI guardrail policy (`ai-guard-injection`, `ai-guard-pii` with `input: block`, `ai-guard-deny`) matched the prompt. The access log names the policy and the rule (`heuristic:override.ignore-instructions`, `pii:email`, `topic:weapons`); the prompt itself is never logged. Fix a false positive with `disabledRules`, a higher `threshold`, or shadow mode while you tune.',
  },
  PCS_ERR_AI_GUARD_UNAVAILABLE: {
    status: 503,
    message: 'Guardrail unavailable',
    fix: '`ai-guard-injection` with `classifier.failClosed: true`: the classifier service failed or did not answer within `timeoutMs`. Check the service; `portcullis_ai_guard_classifier_failures_total` counts the failures.',
  },
  PCS_ERR_AI_OUTPUT_BLOCKED: {
    status: 422,
    message: 'Model answer blocked by a guardrail',
    fix: "An output check (`ai-guard-output`, `ai-guard-pii` with `output: block`, `ai-guard-deny`, `ai-guard-injection` with `output: true`) refused the model's answer. The access log names the policy and rule. Streamed answers are checked when the stream ends and only recorded.",
  },
  PCS_ERR_RATE_LIMITED: {
    status: 429,
    message: 'Too many requests',
    fix: 'The key went over a `rate-limit` limit or quota; the access log names the limit (`rule`). The client should wait `Retry-After` seconds; raise the limit or give the consumer its own if the traffic is legitimate.',
  },
  PCS_ERR_COUNTER_STORE_UNAVAILABLE: {
    status: 503,
    message: 'Service temporarily unavailable',
    fix: 'The counter store (Redis) did not answer and the policy fails closed (`onStoreError: deny`). Check Redis (`portcullis_counter_store_errors_total`, the gateway log); set `onStoreError: allow` to fail open instead.',
  },
  PCS_ERR_CONCURRENCY_LIMITED: {
    status: 429,
    message: 'Too many concurrent requests',
    fix: 'The key has `concurrency-limit.max` requests in flight and the queue is full or the wait timed out. Raise `max` or `queue`, or make the upstream faster.',
  },
  PCS_ERR_BANNED: {
    status: 403,
    message: 'Access denied',
    fix: 'The key is banned by `ban` after repeated denials, or by an operator. List bans with `portcullis bans list` (or `GET /bans`) and lift one with `portcullis bans lift <key>`.',
  },
  PCS_ERR_OUTSIDE_SCHEDULE: {
    status: 403,
    message: 'Not available at this time',
    fix: 'The route is closed outside the `schedule` policy windows (in its time zone). Call within the windows, or change the schedule.',
  },
  PCS_ERR_WAF_BLOCKED: {
    status: 403,
    message: 'Request blocked',
    fix: '`waf`: the request reached the anomaly threshold. The access log and the `waf.block` security event name the rule ids and where they matched; fix a false positive with an `exclusions` entry (rule id and parameter) rather than lowering the paranoia level.',
  },
  PCS_ERR_REQUEST_INVALID: {
    status: 400,
    message: 'Request does not match the API schema',
    fix: '`request-validation`: a parameter or the body broke the OpenAPI schema. The response lists the failing locations; the access log has the detail. Fix the client, or the spec and re-import it.',
  },
  PCS_ERR_UNDOCUMENTED_ENDPOINT: {
    status: 404,
    message: 'Unknown endpoint',
    fix: '`request-validation`: the path or method is not in the OpenAPI document (a shadow API). Document it in the spec and re-import, or run the policy in shadow mode while you find them.',
  },
  PCS_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported media type',
    fix: '`request-validation`: the Content-Type is not one the operation documents in `requestBody.content`. Send a documented type or add it to the spec.',
  },
  PCS_ERR_BOT_DENIED: {
    status: 403,
    message: 'Access denied',
    fix: '`bot-detection`: the client was classified (crawler, headless browser, HTTP library, missing browser headers) into a class the route denies. The access log names the class; allow it or tag it instead.',
  },
  PCS_ERR_RESPONSE_INVALID: {
    status: 502,
    message: 'Upstream response does not match the API schema',
    fix: '`request-validation` with `responses.block: true`: the upstream answered with a status, content type or headers the OpenAPI document does not describe. The `openapi.response_mismatch` security event lists them; fix the service or the spec.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The JSON body every gateway-made error carries. */
export function errorBody(code: ErrorCode, requestId: string, message?: string): string {
  return JSON.stringify({
    error: { code, message: message ?? ERRORS[code].message, request_id: requestId },
  });
}

/** Thrown by a policy that calls the context API outside the phases the call is allowed in. */
export class PhaseError extends Error {
  constructor(call: string, phase: string, allowed: readonly string[]) {
    super(`${call}() is not allowed in phase '${phase}' (allowed: ${allowed.join(', ')})`);
    this.name = 'PhaseError';
  }
}

/** A config that cannot become a revision. Carries every error, by JSON path. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `configuration refused: ${issues.length} error(s)\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}
