import type { PolicyContext } from '../../core/context.js';
import { definePolicy, type PolicyHandlers } from '../../core/policy.js';
import { scanJson } from './json-scan.js';
import { RequestSizeLimitSchema } from './schema.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Caps what a request may carry. Sizes are checked in `request`: a declared Content-Length over
 * the limit is refused at once, a chunked body is counted while it streams to the upstream and
 * cut with 413 when it crosses. JSON structure (depth, array length, keys) is checked in
 * `validate`, after authentication and rate limits, so anonymous floods do not make the
 * gateway buffer bodies.
 */
export const requestSizeLimit = definePolicy({
  name: 'request-size-limit',
  description:
    'Limit body size (declared and streamed), header count and bytes, URL and query length, JSON depth and width.',
  schema: RequestSizeLimitSchema,
  priority: 20,
  create(config) {
    const {
      maxBodyBytes: max,
      maxHeaderCount: maxHeaders,
      maxHeaderBytes,
      maxUrlLength: maxUrl,
      maxQueryLength: maxQuery,
    } = config;
    const json =
      config.json &&
      (config.json.maxDepth ?? config.json.maxArrayLength ?? config.json.maxObjectKeys) !== undefined
        ? config.json
        : undefined;
    if ([max, maxHeaders, maxHeaderBytes, maxUrl, maxQuery, json].every((v) => v === undefined))
      throw new Error('set at least one limit');
    const handlers: PolicyHandlers = {
      request: function requestSizeLimit(ctx: PolicyContext) {
        const r = ctx.request;
        if (maxUrl !== undefined) {
          const len = r.path.length + (r.rawQuery ? r.rawQuery.length + 1 : 0);
          if (len > maxUrl)
            return ctx.reject('PCS_ERR_URI_TOO_LONG', { rule: `url>${maxUrl}`, detail: `url length ${len}` });
        }
        if (maxQuery !== undefined && r.rawQuery.length > maxQuery)
          return ctx.reject('PCS_ERR_URI_TOO_LONG', {
            rule: `query>${maxQuery}`,
            detail: `query length ${r.rawQuery.length}`,
          });
        if (maxHeaders !== undefined || maxHeaderBytes !== undefined) {
          const raw =
            r.rawHeaders ??
            Object.entries(r.headers).flatMap(([k, v]) =>
              Array.isArray(v) ? v.flatMap((x) => [k, x]) : [k, String(v)],
            );
          const n = raw.length / 2;
          if (maxHeaders !== undefined && n > maxHeaders)
            return ctx.reject('PCS_ERR_HEADERS_TOO_LARGE', {
              rule: `headers>${maxHeaders}`,
              detail: `${n} headers`,
            });
          if (maxHeaderBytes !== undefined) {
            let bytes = 0;
            for (let i = 0; i < raw.length; i++) bytes += raw[i].length;
            if (bytes > maxHeaderBytes)
              return ctx.reject('PCS_ERR_HEADERS_TOO_LARGE', {
                rule: `header-bytes>${maxHeaderBytes}`,
                detail: `${bytes} header bytes`,
              });
          }
        }
        if (max !== undefined) {
          const cl = r.headers['content-length'];
          if (cl !== undefined && Number(cl) > max)
            return ctx.reject('PCS_ERR_BODY_TOO_LARGE', {
              rule: `content-length>${max}`,
              detail: `content-length ${cl}`,
            });
          ctx.limitBody(max);
        }
        return undefined;
      },
    };
    if (json) {
      handlers.validate = async function requestJsonLimits(ctx: PolicyContext) {
        const type = ctx.request.headers['content-type'];
        if (typeof type !== 'string' || !JSON_TYPE.test(type)) return undefined;
        const body = await ctx.readBody(max);
        const crossed = scanJson(body, json);
        if (crossed)
          return ctx.reject('PCS_ERR_JSON_TOO_COMPLEX', {
            rule: `json:${crossed}`,
            detail: `${body.length} byte body`,
          });
        return undefined;
      };
    }
    return handlers;
  },
});
