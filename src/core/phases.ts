/**
 * The request pipeline, in order. This array is the single source of truth for phase order;
 * docs/lifecycle.md draws it. A policy module names the phases it runs in; the compiler sorts
 * each route's chain by this order.
 */
export const PHASES = [
  'request', // IP rules, CORS preflight, size and header limits, bot signals
  'auth', // who is calling: sets the consumer
  'authz', // may they do this
  'rateLimit', // how much
  'validate', // schema and threat checks on the input
  'transform', // request rewrite before it leaves
  'upstream', // last look before the upstream call
  'response', // upstream answered: headers may still change
  'log', // after the response went out: observe only
] as const;

export type Phase = (typeof PHASES)[number];

export const PHASE_INDEX: Readonly<Record<Phase, number>> = Object.fromEntries(
  PHASES.map((p, i) => [p, i]),
) as Record<Phase, number>;

/** Phases that run before the upstream call; a rejection here stops the request. */
export const REQUEST_PHASES: readonly Phase[] = PHASES.slice(0, PHASE_INDEX.upstream + 1);

/** The consumer is known from the end of `auth` on; consumer-scoped policies start at `authz`. */
export const FIRST_CONSUMER_PHASE: Phase = 'authz';
