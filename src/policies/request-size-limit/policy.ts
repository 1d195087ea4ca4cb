import type { PolicyContext } from '../../core/context.js';
import { definePolicy } from '../../core/policy.js';
import { RequestSizeLimitSchema } from './schema.js';

/**
 * Caps the request body: a declared Content-Length over the limit is refused at once; a
 * chunked body is counted while it streams to the upstream and cut with 413 when it crosses.
 */
export const requestSizeLimit = definePolicy({
  name: 'request-size-limit',
  description: 'Limit request body size (declared and streamed), header count and URL length.',
  schema: RequestSizeLimitSchema,
  priority: 20,
  create(config) {
    const max = config.maxBodyBytes;
    const maxHeaders = config.maxHeaderCount;
    const maxUrl = config.maxUrlLength;
    return {
      request: function requestSizeLimit(ctx: PolicyContext) {
        const r = ctx.request;
        if (maxUrl !== undefined) {
          const len = r.path.length + (r.rawQuery ? r.rawQuery.length + 1 : 0);
          if (len > maxUrl)
            return ctx.reject('PCS_ERR_URI_TOO_LONG', { rule: `url>${maxUrl}`, detail: `url length ${len}` });
        }
        if (maxHeaders !== undefined) {
          const n = Object.keys(r.headers).length;
          if (n > maxHeaders)
            return ctx.reject('PCS_ERR_HEADERS_TOO_LARGE', {
              rule: `headers>${maxHeaders}`,
              detail: `${n} headers`,
            });
        }
        const cl = r.headers['content-length'];
        if (cl !== undefined && Number(cl) > max)
          return ctx.reject('PCS_ERR_BODY_TOO_LARGE', {
            rule: `content-length>${max}`,
            detail: `content-length ${cl}`,
          });
        ctx.limitBody(max);
        return undefined;
      },
    };
  },
});
