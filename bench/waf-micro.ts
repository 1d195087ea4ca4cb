// µs per request of the waf policy's handler, in-process (no sockets): `npx tsx bench/waf-micro.ts`.
// Builds the policy once (paranoia 1, as in `npm run bench` scenario 7), then runs its `validate`
// handler on a real PolicyContext for a few representative requests and prints the mean and
// median µs per call (batches of 20 calls). Options: --iterations N (default 20000 per request,
// fewer when they pass --seconds S, default 3), --only I (the I-th request, from 1), --json. Profile: node --import tsx --cpu-prof bench/waf-micro.ts --only 1
import { performance } from 'node:perf_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { PolicyContext, type RequestView } from '../src/core/context.js';
import type { PolicyDeps } from '../src/core/policy.js';
import { waf } from '../src/policies/waf/policy.js';
import { ORDER_BODY } from './configs.mjs';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : dflt;
};
const ITER = Number(arg('iterations', '20000'));
const SECONDS = Number(arg('seconds', '3'));
const ONLY = Number(arg('only', '0'));

/** A ~20 KB JSON document: a page of catalogue records with free text, URLs and unicode. */
function bigDocument(): string {
  const items = [];
  for (let i = 0; items.length < 1000 && JSON.stringify(items).length < 20000; i++)
    items.push({
      id: 10000 + i,
      title: `Product ${i}: “Déjà vu” edition`,
      description: `Hand-made in Cork; select the size you need and drop us a note if it's a gift (#${i}).`,
      url: `https://shop.example.com/p/${i}?ref=feed`,
      tags: ['new', 'sale', i % 2 ? 'blue' : 'green'],
      price: 9.99 + i,
      stock: i % 7,
    });
  return JSON.stringify({ page: 1, total: items.length, items });
}

const BROWSER: IncomingHttpHeaders = {
  host: 'api.example.com',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-IE,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br',
  referer: 'https://app.example.com/orders?tab=open',
  cookie: 'session=3f9a1c0e7b2d4a6f8e1c; theme=dark',
};

interface Case {
  name: string;
  method: string;
  path: string;
  rawQuery?: string;
  headers: IncomingHttpHeaders;
  body?: string;
}

const FORM =
  'name=Siobh%C3%A1n+O%27Brien&email=siobhan%40example.com&subject=Order+question&message=Please+select+the+faster+courier%3B+I+will+drop+by+at+5pm.&newsletter=on';
const BIG = bigDocument();

const CASES: Case[] = [
  {
    name: `scenario-7 order JSON POST (${ORDER_BODY.length} B)`,
    method: 'POST',
    path: '/orders',
    // What autocannon sends in scenario 7.
    headers: {
      host: '127.0.0.1:8080',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(ORDER_BODY)),
    },
    body: ORDER_BODY,
  },
  {
    name: 'GET with a query, browser headers',
    method: 'GET',
    path: '/items',
    rawQuery: 'page=2&q=blue+shoes&sort=-price&filter%5Bbrand%5D=Acme',
    headers: BROWSER,
  },
  {
    name: `form POST (${FORM.length} B)`,
    method: 'POST',
    path: '/contact',
    headers: {
      ...BROWSER,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(FORM.length),
    },
    body: FORM,
  },
  {
    name: `JSON document (${BIG.length} B)`,
    method: 'PUT',
    path: '/catalogue/page/1',
    headers: { ...BROWSER, 'content-type': 'application/json', 'content-length': String(BIG.length) },
    body: BIG,
  },
  {
    name: 'attack: SQL injection in a query (blocked)',
    method: 'GET',
    path: '/items',
    rawQuery: "id=1'%20UNION%20SELECT%20password%20FROM%20users--",
    headers: BROWSER,
  },
];

const noop = () => undefined;
const deps = {
  metrics: {
    counter: () => ({ inc: noop }),
    histogram: () => ({ observe: noop }),
    gauge: () => ({ set: noop }),
  },
  events: { emit: noop },
  logger: { info: noop, warn: noop, error: noop, debug: noop },
  clock: { now: () => Date.now() },
  gateway: { trustedProxies: [] },
} as unknown as PolicyDeps;

const handler = waf.create({ paranoia: 1 } as never, deps).validate as (
  ctx: PolicyContext,
) => Promise<unknown>;

function context(c: Case): PolicyContext {
  const request = {
    id: 'bench',
    method: c.method,
    path: c.path,
    rawQuery: c.rawQuery ?? '',
    host: String(c.headers.host ?? ''),
    headers: c.headers,
    clientIp: '127.0.0.1',
    remoteAddress: '127.0.0.1',
    protocol: 'http',
    route: 'bench',
  } as unknown as RequestView;
  const ctx = new PolicyContext(request, {}, { now: () => 0 });
  // As in the gateway: the body was buffered once (request-validation read it first).
  if (c.body !== undefined) ctx.bufferedBody = Buffer.from(c.body);
  ctx.enter('validate', 'enforce', 'waf');
  return ctx;
}

const rows: { name: string; meanUs: number; medianUs: number; outcome: string }[] = [];
for (const [i, c] of CASES.entries()) {
  if (ONLY && i + 1 !== ONLY) continue;
  // A fresh context per call, like a request; made outside the timed region.
  const ctxs = Array.from({ length: 64 }, () => context(c));
  const first = (await handler(context(c))) as { code?: string } | undefined;
  for (let i = 0; i < Math.min(ITER, 1000); i++) await handler(ctxs[i % 64] as PolicyContext);
  const samples: number[] = [];
  const batch = 20;
  const until = performance.now() + SECONDS * 1000;
  for (let i = 0; i < ITER && performance.now() < until; i += batch) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) await handler(ctxs[(i + j) % 64] as PolicyContext);
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  samples.sort((a, b) => a - b);
  rows.push({
    name: c.name,
    meanUs: samples.reduce((a, b) => a + b, 0) / samples.length,
    medianUs: samples[Math.floor(samples.length / 2)] as number,
    outcome: first?.code ?? 'pass',
  });
}

if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(`waf handler, paranoia 1, up to ${ITER} calls or ${SECONDS} s per request (µs per call)\n`);
  console.log('request'.padEnd(46), 'median'.padStart(8), 'mean'.padStart(8), '  outcome');
  for (const r of rows)
    console.log(
      r.name.padEnd(46),
      r.medianUs.toFixed(1).padStart(8),
      r.meanUs.toFixed(1).padStart(8),
      ` ${r.outcome}`,
    );
}
