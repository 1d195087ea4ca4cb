import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Terminal } from '../runtime/compile.js';
import type { ConfigIssue } from '../core/errors.js';
import type { PolicyServices } from '../core/policy.js';
import type { RouteConfig } from '../config/schema.js';
import { ResponseCache } from './cache.js';
import type { CompiledProvider } from './dispatch.js';
import { PROVIDERS } from './providers/index.js';
import type { AiModelConfig, AiSectionConfig } from '../config/ai-schema.js';
import { type CompiledTemplate, compileTemplate } from './template.js';
import { makeTerminal, type AiShared } from './terminal.js';
import { providerHash } from './upstream.js';
import { genAiMetrics, PriceTable, usageWriter } from './usage.js';

export interface AiCompileDeps {
  services: PolicyServices;
  clock: Clock;
  logger: Logger;
  /** Randomness for weighted routing and jitter (tests pass a fixed sequence). */
  random?: () => number;
}

export interface AiRuntime {
  /** The handler of a route with an `ai` block, or issues explaining why it cannot be built. */
  terminalFor(route: RouteConfig, path: string): { terminal?: Terminal; issues: ConfigIssue[] };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Compiles the `ai` section once per revision (secrets already resolved): providers with their
 * pools' keys, aliases, prices, templates. Problems in the section are reported with the first
 * AI route, by JSON path; a section no route uses is not served and not checked beyond its schema.
 */
export function compileAi(section: AiSectionConfig | undefined, deps: AiCompileDeps): AiRuntime {
  const s: AiSectionConfig = section ?? {
    providers: [],
    models: [],
    prices: [],
    templates: [],
    directModels: false,
  };
  const issues: ConfigIssue[] = [];
  const providers = new Map<string, CompiledProvider>();
  for (const [i, p] of s.providers.entries()) {
    const at = `/ai/providers/${i}`;
    if (providers.has(p.name)) issues.push({ path: `${at}/name`, message: `duplicate provider '${p.name}'` });
    const spec = PROVIDERS[p.kind];
    const raw = p.baseUrl ?? spec.defaultBaseUrl;
    if (!raw) {
      issues.push({ path: `${at}/baseUrl`, message: `required for kind '${p.kind}'` });
      continue;
    }
    let url: URL;
    try {
      url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    } catch {
      issues.push({ path: `${at}/baseUrl`, message: 'not an http(s) URL' });
      continue;
    }
    providers.set(p.name, {
      cfg: p,
      spec,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      poolKey: `${providerHash(p)}@${url.origin}`,
      headers: { ...p.headers, ...spec.headers(p) },
    });
  }
  const models = new Map<string, AiModelConfig>();
  s.models.forEach((m, i) => {
    if (models.has(m.name))
      issues.push({ path: `/ai/models/${i}/name`, message: `duplicate model alias '${m.name}'` });
    models.set(m.name, m);
    m.targets.forEach((t, j) => {
      if (!s.providers.some((p) => p.name === t.provider))
        issues.push({
          path: `/ai/models/${i}/targets/${j}/provider`,
          message: `no provider named '${t.provider}'`,
        });
    });
  });
  const templates = new Map<string, CompiledTemplate>();
  s.templates.forEach((t, i) => {
    if (!models.has(t.model))
      issues.push({ path: `/ai/templates/${i}/model`, message: `no model alias '${t.model}'` });
    const c = compileTemplate(t);
    if (Array.isArray(c)) for (const m of c) issues.push({ path: `/ai/templates/${i}`, message: m });
    else templates.set(t.name, c);
  });

  const shared: AiShared = {
    dispatch: { providers, clock: deps.clock, random: deps.random ?? Math.random, sleep },
    models,
    directModels: s.directModels,
    prices: new PriceTable(s.prices),
    templates,
    cache: s.cache ? new ResponseCache(s.cache.ttlMs, s.cache.maxEntries, s.cache.maxEntryBytes) : undefined,
    usage: usageWriter(deps.services.store, deps.logger),
    metrics: genAiMetrics(deps.services.metrics),
    clock: deps.clock,
    logger: deps.logger,
  };
  let reported = false;

  return {
    terminalFor(route, path) {
      const out: ConfigIssue[] = reported ? [] : issues;
      reported = true;
      const ai = route.ai!;
      if (route.service !== undefined)
        out.push({ path, message: 'a route has either `service` or `ai`, not both' });
      let template: CompiledTemplate | undefined;
      if (ai.endpoint === 'template') {
        if (!ai.template)
          out.push({ path: `${path}/template`, message: 'required with endpoint `template`' });
        else {
          template = templates.get(ai.template);
          if (!template && !s.templates.some((t) => t.name === ai.template))
            out.push({ path: `${path}/template`, message: `no template named '${ai.template}'` });
        }
      } else if (ai.template)
        out.push({ path: `${path}/template`, message: 'only with endpoint `template`' });
      ai.models?.forEach((m, i) => {
        if (!models.has(m)) out.push({ path: `${path}/models/${i}`, message: `no model alias '${m}'` });
      });
      if (ai.cache && !s.cache) out.push({ path: `${path}/cache`, message: 'needs `ai.cache` settings' });
      if (out.length) return { issues: out };
      return { terminal: makeTerminal(shared, ai, template), issues: [] };
    },
  };
}
