// `npm run bench`: Portcullis against a minimal Node proxy (bench/baseline.mjs), measured in the
// same run, alternating, and reported as ratios. See bench/README.md.
//
// Env: BENCH_DURATION (s per measurement, default 5), BENCH_WARMUP (s, default 3),
// BENCH_ROUNDS (alternating rounds, default 2), BENCH_CONNECTIONS (default 32),
// BENCH_SWAP_DURATION (s of 1/s swaps, default 10), BENCH_COMPILE_RUNS (default 5; fewer when
// they pass BENCH_COMPILE_BUDGET s, default 60, so a slow compile cannot stall the run),
// BENCH_SWAP_BUDGET (s, default 60: the 100 fast swaps stop there and say so),
// BENCH_ONLY (e.g. "1,2"; 5 = key-auth, 6 = jwt, 7 = JSON POST with request-validation + waf,
// 8 = rate-limit in memory, 9 = ip-restriction with 100,000 CIDRs, 10 = rate-limit in Redis), BENCH_PROFILE=1 (--cpu-prof on the Portcullis processes).
import { createSign, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bigDenyList,
  denyListText,
  JWT_ISSUER,
  ORDER_BODY,
  jwtRoute,
  keyAuthRoute,
  manyRoutes,
  ORIGIN,
  rateLimited,
  singleRoute,
  spreadPaths,
} from './configs.mjs';
import { cpuSeconds, killAll, loadGenerator, ROOT, start, stop } from './procs.mjs';
import { summarizeProfile } from './profile-top.mjs';

const env = (name, dflt) => Number(process.env[name] ?? dflt);
const S = {
  duration: env('BENCH_DURATION', 5),
  warmup: env('BENCH_WARMUP', 3),
  rounds: env('BENCH_ROUNDS', 2),
  connections: env('BENCH_CONNECTIONS', 32),
  swapDuration: env('BENCH_SWAP_DURATION', 10),
  compileRuns: env('BENCH_COMPILE_RUNS', 5),
  compileBudget: env('BENCH_COMPILE_BUDGET', 60),
  swapBudget: env('BENCH_SWAP_BUDGET', 60),
};
const ONLY = new Set((process.env.BENCH_ONLY ?? '1,2,3,4,5,6,7,8,9,10').split(',').map((s) => s.trim()));
const PROFILE = process.env.BENCH_PROFILE === '1';
const TOKEN = 'bench-admin-token-0123456789';
const RESULTS = join(ROOT, 'bench', 'results');
const PROFILES = join(RESULTS, 'profiles');
const tmp = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
// autocannon counts a timeout both in `errors` and in `timeouts`.
const failures = (r) => r.non2xx + r.errors;

async function admin(pc, body) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${pc.adminPort}/config`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`POST /config to ${pc.name}: ${res.status} ${text.slice(0, 500)}`);
  return ms;
}

const profileArgs = (name) =>
  PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILES, '--cpu-prof-name', `${name}.cpuprofile`] : [];

async function startPortcullis(name, config, logging, extraEnv = {}) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const opts = { env: { PORTCULLIS_ADMIN_TOKEN: TOKEN, ...extraEnv }, execArgv: profileArgs(name) };
  if (!logging) return start(name, join(ROOT, 'bench', 'portcullis.mjs'), [file, join(dir, 'data')], opts);
  // The real CLI, its access log on pino's default destination (stdout), here a file.
  const args = ['start', '--config', file, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'];
  args.push('--data-dir', join(dir, 'data'), '--no-watch');
  return start(name, join(ROOT, 'dist', 'cli', 'main.js'), args, {
    ...opts,
    stdout: join(dir, 'access.log'),
  });
}

/** Warms each target, then runs `rounds` of [target1, target2, ...] back to back. */
async function compare(load, targets, job) {
  // A target may add headers of its own (its API key).
  const jobFor = (t) => (t.headers ? { ...job, headers: { ...job.headers, ...t.headers } } : job);
  for (const t of targets) await load.run({ ...jobFor(t), url: t.url, duration: S.warmup });
  const runs = Object.fromEntries(targets.map((t) => [t.label, []]));
  for (let r = 0; r < S.rounds; r++)
    for (const t of targets) {
      const cpu0 = cpuSeconds(t.proc);
      const res = await load.run({ ...jobFor(t), url: t.url, duration: S.duration });
      const cpu = cpuSeconds(t.proc) - cpu0;
      // CPU time the proxy process used per request: steadier than req/s on a shared machine.
      res.cpuUsPerRequest = Number.isFinite(cpu) && res.total ? (cpu * 1e6) / res.total : undefined;
      runs[t.label].push(res);
    }
  const out = {};
  for (const [label, rs] of Object.entries(runs))
    out[label] = {
      rps: mean(rs.map((x) => x.rps)),
      p50: mean(rs.map((x) => x.latencyP50)),
      p99: mean(rs.map((x) => x.latencyP99)),
      cpuUs: mean(rs.map((x) => x.cpuUsPerRequest ?? Number.NaN)),
      failures: rs.reduce((a, x) => a + failures(x), 0),
      runs: rs,
    };
  const base = out.baseline;
  for (const [label, o] of Object.entries(out))
    if (label !== 'baseline')
      o.ratio = {
        rps: o.rps / base.rps,
        p50: o.p50 / base.p50,
        p99: o.p99 / base.p99,
        cpu: o.cpuUs / base.cpuUs,
      };
  return out;
}

function printCompare(title, out, target) {
  console.log(`\n${title}`);
  console.log(
    `  ${'target'.padEnd(22)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU us/req'.padStart(12)}${'fail'.padStart(6)}  | ratios: req/s   p50    p99  CPU/req`,
  );
  const x = (v) => `${v.toFixed(2)}x`.padStart(7);
  for (const [label, o] of Object.entries(out)) {
    const ratio = o.ratio
      ? `  |      ${x(o.ratio.rps)}${x(o.ratio.p50)}${x(o.ratio.p99)}${x(o.ratio.cpu)}`
      : '';
    console.log(
      `  ${label.padEnd(22)}${o.rps.toFixed(0).padStart(8)}${o.p50.toFixed(1).padStart(8)}${o.p99.toFixed(1).padStart(8)}${o.cpuUs.toFixed(0).padStart(12)}${String(o.failures).padStart(6)}${ratio}`,
    );
  }
  if (target)
    for (const [label, o] of Object.entries(out))
      if (o.ratio)
        console.log(
          `  ${label}: req/s ratio ${o.ratio.rps.toFixed(2)}x, target >= ${target}x: ${o.ratio.rps >= target ? 'met' : `MISSED by ${((target - o.ratio.rps) * 100).toFixed(0)} points`}`,
        );
}

/** Load on `pc` while the parent POSTs configs A, B, A, ... every `everyMs`, `swaps` times. */
async function swapsUnderLoad(load, pc, configs, { everyMs, swaps, paths }) {
  const bodies = configs.map((c) => JSON.stringify(c));
  const running = load.run({
    url: pc.url,
    connections: S.connections,
    duration: 3600,
    paths,
    headers: { origin: ORIGIN },
  });
  await sleep(500); // let the connections open before the first swap
  const posts = [];
  let flip = pc.live === configs[0] ? 1 : 0;
  const t0 = performance.now();
  for (let i = 0; i < swaps; i++) {
    const due = t0 + i * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (performance.now() - t0 > S.swapBudget * 1000) break;
    posts.push(await admin(pc, bodies[flip]));
    pc.live = configs[flip];
    flip ^= 1;
  }
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(500); // requests that started on the last revision finish
  load.stop();
  const r = await running;
  return {
    swaps: posts.length,
    planned: swaps,
    cadenceMs: everyMs,
    elapsedS: elapsed,
    postMsMedian: median(posts),
    postMsMax: Math.max(...posts),
    requests: r.total,
    rps: r.rps,
    p99: r.latencyP99,
    failures: failures(r),
    detail: { non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, statusCodes: r.statusCodes },
  };
}

function printSwaps(title, s) {
  console.log(`\n${title}`);
  console.log(
    `  ${s.swaps} swaps in ${s.elapsedS.toFixed(1)} s (POST /config median ${s.postMsMedian.toFixed(0)} ms, max ${s.postMsMax.toFixed(0)} ms); ${s.requests} requests at ${s.rps.toFixed(0)} req/s, p99 ${s.p99} ms`,
  );
  if (s.swaps < s.planned)
    console.log(`  only ${s.swaps} of ${s.planned} swaps within BENCH_SWAP_BUDGET=${S.swapBudget} s`);
  console.log(`  failed requests: ${s.failures} (target 0: ${s.failures === 0 ? 'met' : 'MISSED'})`);
  if (s.failures) console.log(`  ${JSON.stringify(s.detail)}`);
}

async function main() {
  if (PROFILE) mkdirSync(PROFILES, { recursive: true });
  console.log(
    `portcullis bench: ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${S.duration} s per measurement, ${S.warmup} s warm-up, ${S.rounds} rounds, ${S.connections} connections`,
  );
  const upstream = await start('upstream', join(ROOT, 'bench', 'upstream.mjs'), []);
  const upUrl = `http://127.0.0.1:${upstream.port}`;
  const baseline = await start('baseline', join(ROOT, 'bench', 'baseline.mjs'), [upUrl], {
    execArgv: profileArgs('baseline'),
  });
  const pcOff = await startPortcullis('portcullis-log-off', singleRoute(upUrl), false);
  const pcOn = await startPortcullis('portcullis-log-on', singleRoute(upUrl), true);
  const load = await loadGenerator();
  const procs = [upstream, baseline, pcOff, pcOn, load.proc];
  for (const p of [baseline, pcOff, pcOn]) p.url = `http://127.0.0.1:${p.port}`;
  const targets = [
    { label: 'baseline', url: baseline.url, proc: baseline },
    { label: 'portcullis (log off)', url: pcOff.url, proc: pcOff },
    { label: 'portcullis (log on)', url: pcOn.url, proc: pcOn },
  ];
  const results = { date: new Date().toISOString(), machine: machine(), settings: S, scenarios: {} };

  if (ONLY.has('1')) {
    const out = await compare(load, targets, { connections: S.connections, paths: ['/items?page=1'] });
    results.scenarios.singleRoute = { target: { rpsRatio: 0.9 }, ...out };
    printCompare('1. single route, no policies', out, 0.9);
  }

  const paths = spreadPaths(1000);
  const many = [manyRoutes(upUrl, 1000, 0), manyRoutes(upUrl, 1000, 1)];
  if (ONLY.has('2') || ONLY.has('3')) {
    for (const pc of [pcOff, pcOn]) {
      await admin(pc, JSON.stringify(many[0]));
      pc.live = many[0];
    }
  }
  if (ONLY.has('2')) {
    const job = { connections: S.connections, paths, headers: { origin: ORIGIN } };
    const out = await compare(load, targets, job);
    results.scenarios.thousandRoutes = out;
    printCompare('2. 1,000 routes, ip-restriction (deny 4 CIDRs) and cors global', out);
  }

  if (ONLY.has('3')) {
    const perSecond = await swapsUnderLoad(load, pcOn, many, { everyMs: 1000, swaps: S.swapDuration, paths });
    printSwaps('3a. a revision swap every second under load (1,000-route configs, log on)', perSecond);
    const fast = await swapsUnderLoad(load, pcOn, many, { everyMs: 50, swaps: 100, paths });
    printSwaps('3b. 100 swaps under load, one every 50 ms or as fast as they apply', fast);
    results.scenarios.swaps = { perSecond, fast };
  }

  if (ONLY.has('4')) {
    const big = [manyRoutes(upUrl, 10_000, 0), manyRoutes(upUrl, 10_000, 1)].map((c) => JSON.stringify(c));
    const times = [];
    for (let i = 0; i < S.compileRuns; i++) {
      times.push(await admin(pcOff, big[i % 2]));
      if (times.reduce((a, b) => a + b, 0) > S.compileBudget * 1000) break;
    }
    const med = median(times);
    results.scenarios.compile10k = {
      bodyBytes: big[0].length,
      timesMs: times,
      medianMs: med,
      targetMs: 1000,
    };
    console.log('\n4. compile-and-swap of a 10,000-route config (POST /config -> 201, no load)');
    console.log(
      `  body ${(big[0].length / 1e6).toFixed(2)} MB; runs ${times.map((t) => t.toFixed(0)).join(', ')} ms; median ${med.toFixed(0)} ms (target < 1000 ms: ${med < 1000 ? 'met' : `MISSED by ${(med - 1000).toFixed(0)} ms`})`,
    );
  }

  if (ONLY.has('5')) {
    const keyed = [];
    for (const t of targets) {
      if (t.label === 'baseline') {
        keyed.push(t);
        continue;
      }
      const pc = t.proc;
      await admin(pc, JSON.stringify(keyAuthRoute(upUrl)));
      pc.live = undefined;
      const key = await issueKey(pc, 'bench-consumer');
      keyed.push({ ...t, headers: { 'x-api-key': key } });
    }
    const out = await compare(load, keyed, { connections: S.connections, paths: ['/items?page=1'] });
    results.scenarios.keyAuth = { target: { rpsRatio: 0.8 }, ...out };
    printCompare(
      '5. single route, key-auth (hashed key lookup, consumer from the directory cache)',
      out,
      0.8,
    );
  }

  if (ONLY.has('6')) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    for (const pc of [pcOff, pcOn]) {
      await admin(pc, JSON.stringify(jwtRoute(upUrl, pem)));
      pc.live = undefined;
    }
    const token = rs256(privateKey, {
      iss: JWT_ISSUER,
      sub: 'bench',
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const job = {
      connections: S.connections,
      paths: ['/items?page=1'],
      headers: { authorization: `Bearer ${token}` },
    };
    const out = await compare(load, targets, job);
    results.scenarios.jwt = { target: { rpsRatio: 0.8 }, ...out };
    printCompare('6. single route, jwt RS256 (one token, verification cache on)', out, 0.8);
  }

  if (ONLY.has('7')) {
    for (const pc of [pcOff, pcOn]) {
      await admin(pc, JSON.stringify(validatedPost(upUrl)));
      pc.live = undefined;
    }
    const job = {
      connections: S.connections,
      paths: ['/orders'],
      method: 'POST',
      body: ORDER_BODY,
      headers: { 'content-type': 'application/json' },
    };
    const out = await compare(load, targets, job);
    results.scenarios.validatedPost = { target: { rpsRatio: 0.7 }, bodyBytes: ORDER_BODY.length, ...out };
    printCompare(
      `7. JSON POST (${ORDER_BODY.length} B) with request-validation (OpenAPI) and waf at paranoia 1`,
      out,
      0.7,
    );
  }

  const job1 = { connections: S.connections, paths: ['/items?page=1'] };
  if (ONLY.has('8')) {
    for (const pc of [pcOff, pcOn]) await admin(pc, JSON.stringify(rateLimited(upUrl)));
    const out = await compare(load, targets, job1);
    results.scenarios.rateLimitMemory = { target: { rpsRatio: 0.9 }, ...out };
    printCompare('8. single route, rate-limit (GCRA per client IP, memory store)', out, 0.9);
  }

  if (ONLY.has('9')) {
    const file = join(tmp, 'deny-100k.txt');
    writeFileSync(file, denyListText(100_000));
    for (const pc of [pcOff, pcOn]) await admin(pc, JSON.stringify(bigDenyList(upUrl, file)));
    const out = await compare(load, targets, job1);
    results.scenarios.ipRestriction100k = { target: { rpsRatio: 0.9 }, cidrs: 100_000, ...out };
    printCompare('9. single route, ip-restriction with 100,000 CIDRs from a file (prefix trie)', out, 0.9);
  }

  if (ONLY.has('10')) {
    const redis = await startRedis();
    const env = { PORTCULLIS_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    const rOff = await startPortcullis('portcullis-redis-log-off', rateLimited(upUrl), false, env);
    const rOn = await startPortcullis('portcullis-redis-log-on', rateLimited(upUrl), true, env);
    for (const p of [rOff, rOn]) p.url = `http://127.0.0.1:${p.port}`;
    const redisTargets = [
      targets[0],
      { label: 'portcullis redis (log off)', url: rOff.url, proc: rOff },
      { label: 'portcullis redis (log on)', url: rOn.url, proc: rOn },
    ];
    const out = await compare(load, redisTargets, job1);
    results.scenarios.rateLimitRedis = { target: { rpsRatio: 0.6 }, ...out };
    printCompare(
      '10. single route, rate-limit in Redis (one Lua call per request, redis-server on loopback)',
      out,
      0.6,
    );
    await Promise.all([stop(rOff), stop(rOn)]);
    redis.kill();
  }

  await Promise.all(procs.map(stop));
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: bench/results/latest.json`);
  if (PROFILE)
    for (const name of ['baseline', 'portcullis-log-off', 'portcullis-log-on']) {
      console.log(`\nCPU profile ${name} (top self time):`);
      console.log(summarizeProfile(join(PROFILES, `${name}.cpuprofile`), 20));
    }
}

/** Scenario 7: POST /orders validated against an OpenAPI document, then scored by the WAF. */
function validatedPost(upstream) {
  const str = (maxLength) => ({ type: 'string', maxLength });
  const spec = {
    openapi: '3.0.3',
    info: { title: 'Orders', version: '1' },
    paths: {
      '/orders': {
        post: {
          operationId: 'createOrder',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } },
          },
          responses: { 200: { description: 'created' } },
        },
      },
    },
    components: {
      schemas: {
        Order: {
          type: 'object',
          additionalProperties: false,
          required: ['customer', 'items', 'shipping'],
          properties: {
            customer: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'email'],
              properties: { name: str(100), email: { type: 'string', format: 'email' }, phone: str(30) },
            },
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['sku', 'quantity', 'price'],
                properties: {
                  sku: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{4}$' },
                  quantity: { type: 'integer', minimum: 1, maximum: 100 },
                  price: { type: 'number', minimum: 0 },
                  note: str(200),
                },
              },
            },
            shipping: {
              type: 'object',
              additionalProperties: false,
              required: ['street', 'city', 'country'],
              properties: {
                street: str(200),
                city: str(100),
                postcode: str(20),
                country: { type: 'string', enum: ['IE', 'GB', 'FR', 'DE', 'US'] },
              },
            },
            notes: str(1000),
            coupon: { type: 'string', nullable: true, pattern: '^[A-Z0-9-]{3,20}$' },
          },
        },
      },
    },
  };
  return {
    services: [{ name: 'up', targets: [{ url: upstream }] }],
    routes: [{ name: 'orders', service: 'up', paths: ['/orders'], pathMatch: 'exact', methods: ['POST'] }],
    policies: [
      { name: 'request-validation', scope: 'global', config: { spec } },
      { name: 'waf', scope: 'global', config: { paranoia: 1 } },
    ],
  };
}

/** Creates a consumer on `pc` and issues it an API key through the admin API. */
async function issueKey(pc, consumer) {
  const call = async (path, body) => {
    const res = await fetch(`http://127.0.0.1:${pc.adminPort}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`POST ${path} to ${pc.name}: ${res.status}`);
    return json;
  };
  await call('/consumers', { name: consumer });
  return (await call(`/consumers/${consumer}/credentials`, { kind: 'key-auth' })).key;
}

function rs256(privateKey, claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createSign('sha256').update(input).sign(privateKey).toString('base64url')}`;
}

function machine() {
  return { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, platform: process.platform };
}

main()
  .catch((err) => {
    console.error(err);
    killAll();
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));

/** A throwaway redis-server on a free port for scenario 10 (Debian's package; .ci/run installs it). */
async function startRedis() {
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (up) return { port, kill: () => proc.kill('SIGTERM') };
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not start (is it installed? apt-get install redis-server)');
}
