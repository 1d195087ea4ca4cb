import type { PolicyModule } from '../core/policy.js';
import { aiBudget } from './ai-budget/policy.js';
import { aiGuardDeny } from './ai-guard-deny/policy.js';
import { aiGuardInjection } from './ai-guard-injection/policy.js';
import { aiGuardOutput } from './ai-guard-output/policy.js';
import { aiGuardPii } from './ai-guard-pii/policy.js';
import { cors } from './cors/policy.js';
import { ipRestriction } from './ip-restriction/policy.js';
import { rateLimit } from './rate-limit/policy.js';
import { concurrencyLimit } from './concurrency-limit/policy.js';
import { ban } from './ban/policy.js';
import { schedule } from './schedule/policy.js';
import { basicAuth } from './basic-auth/policy.js';
import { keyAuth } from './key-auth/policy.js';
import { multiAuth } from './multi-auth/policy.js';
import { stepUp } from './step-up/policy.js';
import { oauth2Introspection } from './oauth2-introspection/policy.js';
import { oidc } from './oidc/policy.js';
import { jwt } from './jwt/policy.js';
import { requestId } from './request-id/policy.js';
import { requestSizeLimit } from './request-size-limit/policy.js';
import { waf } from './waf/policy.js';
import { aiModels } from './ai-models/policy.js';
import { requestValidation } from './request-validation/policy.js';
import { botDetection } from './bot-detection/policy.js';
import { anomalyDetection } from './anomaly-detection/policy.js';
import { acl } from './acl/policy.js';
import { scopes } from './scopes/policy.js';
import { rbac } from './rbac/policy.js';
import { abac } from './abac/policy.js';
import { opa } from './opa/policy.js';
import { hmacAuth } from './hmac-auth/policy.js';
import { mtlsAuth } from './mtls-auth/policy.js';

/** The built-in policies. Later modules register here; tests may pass a registry of their own. */
export const BUILTIN_POLICIES: readonly PolicyModule[] = [
  ipRestriction,
  cors,
  requestSizeLimit,
  requestId,
  keyAuth,
  jwt,
  oidc,
  oauth2Introspection,
  basicAuth,
  multiAuth,
  stepUp,
  rateLimit,
  requestValidation,
  botDetection,
  anomalyDetection,
  waf,
  concurrencyLimit,
  aiBudget,
  aiModels,
  ban,
  schedule,
  acl,
  scopes,
  aiGuardInjection,
  aiGuardDeny,
  aiGuardPii,
  aiGuardOutput,
  rbac,
  abac,
  opa,
  hmacAuth,
  mtlsAuth,
] as PolicyModule[];

export function policyRegistry(extra: readonly PolicyModule[] = []): Map<string, PolicyModule> {
  const m = new Map<string, PolicyModule>();
  for (const p of [...BUILTIN_POLICIES, ...extra]) m.set(p.name, p);
  return m;
}
