import { randomUUID } from 'node:crypto';
import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { acceptableRequestId } from '../../core/request-id.js';
import { RequestIdSchema } from './schema.js';

/**
 * Controls the request id. The gateway always has one (propagated from `X-Request-Id` or
 * generated); this policy renames the header, distrusts client ids, or stops the echo.
 */
export const requestId = definePolicy({
  name: 'request-id',
  description:
    'Choose the request id header, whether client-sent ids are kept, and whether the id is echoed.',
  schema: RequestIdSchema,
  priority: 0,
  create(config) {
    const header = config.header.toLowerCase();
    const { trustIncoming, echo } = config;
    return {
      request: function requestId(ctx: PolicyContext) {
        const incoming = ctx.request.headers[header];
        let id = ctx.request.id;
        if (header !== 'x-request-id' || !trustIncoming) {
          id = trustIncoming && acceptableRequestId(incoming) ? incoming : randomUUID();
          ctx.setRequestId(id);
        }
        ctx.setRequestHeader(header, id);
        if (echo) ctx.setResponseHeader(header, id);
        else ctx.suppressIdEcho();
        return undefined;
      },
    };
  },
});
