import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { observe } from './observe.js';
import { penalise } from './penalty.js';
import { AnomalyDetectionSchema } from './schema.js';
import { settings } from './settings.js';

/**
 * A rolling baseline per consumer of request rate, error share, distinct endpoints and payload
 * size. Observes every finished request in phase `log`; flags a consumer whose current window
 * deviates (`anomaly.detected` security event) and, with `penalty`, limits it in `rateLimit` for
 * a while. All time comes from the injected clock.
 */
export const anomalyDetection = definePolicy({
  name: 'anomaly-detection',
  description:
    'Learns a rolling baseline per consumer (request rate, error ratio, distinct endpoints, payload size), flags deviations as security events and can apply a stricter limit to a flagged consumer.',
  schema: AnomalyDetectionSchema,
  priority: 55,
  create(config, deps) {
    const a = settings(config, deps);
    return {
      rateLimit: async function anomalyPenalty(ctx: PolicyContext) {
        return penalise(a, ctx);
      },
      log: function anomalyObserve(ctx: PolicyContext): undefined {
        return observe(a, ctx);
      },
    };
  },
});
