import type { PolicyDeps } from '../../core/policy.js';
import type { CompiledSpec } from '../../openapi/compile.js';
import type { RequestValidationConfig } from './schema.js';

/** One instance's settings, read once in `create` and passed to the per-request checks. */
export interface Validation {
  spec: CompiledSpec;
  maxErrors: number;
  rejectUndocumented: boolean;
  validateBody: boolean;
  rejectUnknownQuery: boolean;
  /** Responses: refuse a mismatch (else record it), check bodies, up to this many bytes. */
  block: boolean;
  checkBodies: boolean;
  maxResponseBytes: number;
  /** Where the request's operation is kept for the response check. */
  stateKey: string;
  invalid: ReturnType<PolicyDeps['metrics']['counter']>;
  events: PolicyDeps['events'];
}

export function settings(config: RequestValidationConfig, deps: PolicyDeps, spec: CompiledSpec): Validation {
  const id = deps.instance?.id ?? 'request-validation';
  return {
    spec,
    maxErrors: config.maxErrors ?? 5,
    rejectUndocumented: (config.undocumented ?? 'reject') === 'reject',
    validateBody: config.validateBody ?? true,
    rejectUnknownQuery: config.unknownQuery === 'reject',
    block: config.responses?.block ?? false,
    checkBodies: config.responses?.bodies ?? true,
    maxResponseBytes: config.responses?.maxBodyBytes ?? 1_048_576,
    stateKey: `request-validation#${id}@${deps.instance?.scope ?? ''}`,
    invalid: deps.metrics.counter(
      'portcullis_request_validation_failures_total',
      'Requests or responses that broke the OpenAPI document, by kind',
      ['kind', 'mode'],
    ),
    events: deps.events,
  };
}

export const mode = (ctx: { acting: boolean }) => (ctx.acting ? 'enforce' : 'shadow');
