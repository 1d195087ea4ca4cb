import { quoted } from '../../auth/authenticator.js';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { StepUpSchema } from './schema.js';

/**
 * Step-up (RFC 9470): runs in `auth` after the token policies (priority 150) and requires that
 * the verified token shows multi-factor authentication: an accepted `amr`, or an `acr` at least
 * `minAcr`. Otherwise 401 with `Bearer error="insufficient_user_authentication"` and the
 * `acr_values` / `max_age` the client must ask the identity provider for.
 */
export const stepUp = definePolicy({
  name: 'step-up',
  description:
    'Require multi-factor authentication (amr / acr claims) on chosen routes and methods (RFC 9470).',
  schema: StepUpSchema,
  priority: 150,
  create(config) {
    if (!config.amr && !config.minAcr) throw new Error('set amr, minAcr, or both');
    const levels = config.acrLevels ?? [];
    const min = config.minAcr === undefined ? -1 : levels.indexOf(config.minAcr);
    if (config.minAcr !== undefined && min < 0)
      throw new Error(`minAcr '${config.minAcr}' is not in acrLevels`);
    const methods = config.methods ? new Set(config.methods) : undefined;
    const acrValues = min >= 0 ? levels.slice(min).join(' ') : undefined;
    let challenge = `Bearer realm=${quoted(config.realm)}, error="insufficient_user_authentication", error_description="A different authentication level is required"`;
    if (acrValues) challenge += `, acr_values=${quoted(acrValues)}`;
    if (config.maxAgeSeconds) challenge += `, max_age="${config.maxAgeSeconds}"`;
    const amr = config.amr;
    return {
      auth: function stepUp(ctx: PolicyContext) {
        if (methods && !methods.has(ctx.request.method)) return undefined;
        const claims = ctx.identity?.claims;
        const deny = (reason: string, detail: string) =>
          ctx.reject(claims ? 'PCS_ERR_AUTH_INSUFFICIENT' : 'PCS_ERR_AUTH_REQUIRED', {
            rule: `step-up:${reason}`,
            detail,
            headers: { 'www-authenticate': challenge },
          });
        if (!claims)
          return deny('no_token', 'no verified token claims (run jwt, oidc or introspection first)');
        if (config.maxAgeSeconds) {
          const at = claims.auth_time;
          if (typeof at !== 'number' || ctx.now() - at * 1000 > config.maxAgeSeconds * 1000)
            return deny('too_old', `auth_time ${String(at)} older than ${config.maxAgeSeconds}s`);
        }
        const list = Array.isArray(claims.amr) ? claims.amr : [];
        if (amr && list.some((v) => amr.includes(v as string))) return ctx.allow('step-up:amr');
        const acr = typeof claims.acr === 'string' ? levels.indexOf(claims.acr) : -1;
        if (min >= 0 && acr >= min) return ctx.allow(`step-up:acr:${claims.acr}`);
        return deny('insufficient', `amr ${JSON.stringify(claims.amr)} acr ${JSON.stringify(claims.acr)}`);
      },
    };
  },
});
