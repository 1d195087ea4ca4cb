import type { Decision } from '../../core/policy.js';
import { replayEnv } from '../../replay/env.js';
import { label } from '../../replay/evaluate.js';
import { requestedRange } from './range.js';
import { sendJson } from '../http.js';
import type { AdminModule } from '../server.js';
import { op } from './op-doc.js';

interface Count {
  key: string;
  count: number;
}

interface PolicySummary {
  policy: string;
  /** True when the active revision runs this instance in shadow mode. */
  shadowNow: boolean;
  /**
   * `portcullis_policy_decisions_total{mode="shadow", outcome="would_deny"}` of this process since
   * it started: every request, sampled or not, but no time range.
   */
  wouldDenyMetric: number;
  wouldDeny: number;
  byRule: Count[];
  byConsumer: Count[];
  byRoute: Count[];
  examples: {
    id: number;
    time: string;
    method: string;
    path: string;
    consumer: string | null;
    clientIp: string;
    rule?: string;
    code?: string;
  }[];
}

const SCAN = 100_000;
const PAGE = 1000;

/**
 * `GET /shadow?policy=&since=1h`: what each shadow policy would have denied, by rule, consumer
 * and route, from the request log (so only recorded, sampled requests count; the metric
 * `portcullis_policy_decisions_total{outcome="would_deny"}` counts every request).
 */
export const shadowModule: AdminModule = (route, deps) => {
  route(
    'GET',
    '/shadow',
    async (_req, res, _p, q) => {
      const range = requestedRange(deps.clock.now(), q, '1h');
      const want = q.get('policy') ?? undefined;
      await replayEnv(deps.revisions)?.recorder?.flush();
      const matches = (d: Decision) => !want || d.policy === want || label(d) === want;

      const summaries = new Map<
        string,
        PolicySummary & {
          rules: Map<string, number>;
          consumers: Map<string, number>;
          routes: Map<string, number>;
        }
      >();
      const summary = (name: string, shadowNow: boolean) => {
        let s = summaries.get(name);
        if (!s) {
          s = {
            policy: name,
            shadowNow,
            wouldDeny: 0,
            wouldDenyMetric: 0,
            byRule: [],
            byConsumer: [],
            byRoute: [],
            examples: [],
            rules: new Map(),
            consumers: new Map(),
            routes: new Map(),
          };
          summaries.set(name, s);
        }
        return s;
      };
      // Shadow instances of the active revision are listed even when they denied nothing.
      const current = new Set<string>();
      for (const p of deps.revisions.current.config.policies)
        if (p.mode === 'shadow') {
          const id = p.id ?? p.name;
          const name = id === p.name ? p.name : `${p.name}#${id}`;
          current.add(name);
          if (!want || want === p.name || want === name) summary(name, true);
        }

      let afterId = 0;
      let scanned = 0;
      let truncated = false;
      for (;;) {
        const page = await deps.store.queryRequestLog({ ...range, wouldDeny: true, afterId, limit: PAGE });
        for (const r of page) {
          for (const d of r.decisions) {
            if (d.outcome !== 'would_deny' || !matches(d)) continue;
            const name = label(d);
            const s = summary(name, current.has(name));
            s.wouldDeny++;
            inc(s.rules, d.rule ?? '-');
            inc(s.consumers, r.consumer ?? '(anonymous)');
            inc(s.routes, r.route ?? '(no route)');
            if (s.examples.length < 5)
              s.examples.push({
                id: r.id,
                time: new Date(r.ts).toISOString(),
                method: r.method,
                path: r.path,
                consumer: r.consumer,
                clientIp: r.clientIp,
                rule: d.rule,
                code: d.code,
              });
          }
        }
        scanned += page.length;
        if (page.length < PAGE) break;
        afterId = page[page.length - 1].id;
        if (scanned >= SCAN) {
          truncated = true;
          break;
        }
      }
      const requests = await deps.store.countRequestLog(range);
      const metric = new Map<string, number>();
      for (const v of (await deps.metrics.decisions.get()).values)
        if (v.labels.mode === 'shadow' && v.labels.outcome === 'would_deny')
          metric.set(String(v.labels.policy), v.value);
      sendJson(res, 200, {
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        requests,
        truncated,
        policies: [...summaries.values()]
          .sort((a, b) => b.wouldDeny - a.wouldDeny || a.policy.localeCompare(b.policy))
          .map(({ rules, consumers, routes, ...s }) => ({
            ...s,
            wouldDenyMetric: metric.get(s.policy) ?? 0,
            byRule: top(rules),
            byConsumer: top(consumers),
            byRoute: top(routes),
          })),
      });
    },
    false,
    op('What each shadow policy would have denied, by rule, consumer and route', {
      ok: {
        '200':
          '`{from, to, requests, truncated, policies: [{policy, shadowNow, wouldDeny, wouldDenyMetric, byRule, byConsumer, byRoute, examples}]}`',
      },
      errors: { '400': 'A malformed range' },
      query: {
        policy: 'Only this policy (name, or `name#id`)',
        since: 'How far back (default 1h)',
        from: 'Start (ISO date or epoch ms), instead of since',
        to: 'End (default now)',
      },
    }),
  );
};

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function top(m: Map<string, number>): Count[] {
  return [...m]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
    .slice(0, 50);
}
