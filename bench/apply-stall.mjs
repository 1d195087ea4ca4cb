// `node bench/apply-stall.mjs` (after `npm run build`): does a large apply stall the data plane?
//
// Starts the built gateway (dist/) in a child with a loopback upstream, sends one GET /bare
// every STALL_EVERY_MS (5) ms on keep-alive connections, and meanwhile applies a config of
// STALL_ROUTES (20,000) routes and STALL_POLICIES (5,000) policies through `POST /config`,
// STALL_RUNS (3) times alternating two variants (the first apply replaces a one-route config,
// the later ones a large one). Reports per apply: its time, the client-side latency of the
// requests sent while it ran (max and p99), the gateway's own event-loop delay
// (perf_hooks.monitorEventLoopDelay, max and p99) and any failed request.
//
// Env: STALL_ROUTES, STALL_POLICIES, STALL_RUNS, STALL_EVERY_MS, STALL_PROFILE=1 (--cpu-prof on
// the gateway, summarised at the end), STALL_DIST (the dist/ directory to run, default ./dist). Bounded: at most STALL_RUNS applies, each request
// stream stops with its apply, and the whole run gives up after STALL_BUDGET_S (300) seconds.
// All traffic stays on 127.0.0.1.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { largeConfig } from './configs.mjs';
import { killAll, ROOT, start, stop } from './procs.mjs';
import { summarizeProfile } from './profile-top.mjs';

const TOKEN = 'bench-admin-token-0123456789';

if (process.argv[2] === '--gateway') await gatewayChild(process.argv[3], process.argv[4]);
else await main();

/** The gateway under test, with its event-loop delay histogram reset and read over IPC. */
async function gatewayChild(configFile, dataDir) {
  // STALL_DIST: another build's dist/ (a baseline built from an older commit), for side-by-side runs.
  const dist = process.env.STALL_DIST
    ? pathToFileURL(join(process.env.STALL_DIST, 'gateway.js')).href
    : '../dist/gateway.js';
  const { Gateway } = await import(dist);
  const gw = new Gateway({
    configFile,
    dataDir,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    adminToken: TOKEN,
    accessLogSink: { write() {} },
    watch: false,
  });
  const { port, adminPort } = await gw.start();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  // Beside the histogram, the longest gap between two turns of a 1 ms interval timer.
  let last = performance.now();
  let maxGap = 0;
  setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1).unref();
  // The longest garbage-collector pause, to tell a GC pause from a long compile step.
  let maxGc = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) maxGc = Math.max(maxGc, e.duration);
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m) => {
    if (m === 'reset') {
      eld.reset();
      maxGap = 0;
      maxGc = 0;
    }
    if (m === 'read')
      process.send({
        eld: { max: Math.max(eld.max / 1e6, maxGap), p99: eld.percentile(99) / 1e6, gc: maxGc },
      });
  });
  process.stderr.write(`portcullis: proxy on 127.0.0.1:${port}, admin API on 127.0.0.1:${adminPort}\n`);
  const quit = () => gw.stop().then(() => process.exit(0));
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
}

async function main() {
  const env = (n, d) => Number(process.env[n] ?? d);
  const S = {
    routes: env('STALL_ROUTES', 20_000),
    policies: env('STALL_POLICIES', 5_000),
    runs: env('STALL_RUNS', 3),
    everyMs: env('STALL_EVERY_MS', 5),
    budgetS: env('STALL_BUDGET_S', 300),
  };
  const profile = process.env.STALL_PROFILE === '1';
  const tmp = mkdtempSync(join(tmpdir(), 'portcullis-stall-'));
  const profiles = join(tmp, 'profiles');
  const deadline = performance.now() + S.budgetS * 1000;
  try {
    const up = await start('upstream', join(ROOT, 'bench', 'upstream.mjs'), []);
    const upstream = `http://127.0.0.1:${up.port}`;
    const file = join(tmp, 'config.json');
    writeFileSync(file, JSON.stringify(largeConfig(upstream, 2, 2)));
    mkdirSync(join(tmp, 'data'));
    const execArgv = profile ? ['--cpu-prof', '--cpu-prof-dir', profiles] : [];
    const gw = await start(
      'portcullis',
      fileURLToPath(import.meta.url),
      ['--gateway', file, join(tmp, 'data')],
      {
        execArgv,
      },
    );
    const bodies = [0, 1].map((v) => JSON.stringify(largeConfig(upstream, S.routes, S.policies, v)));
    console.log(
      `apply-stall: ${S.routes} routes + ${S.policies} policies (${(bodies[0].length / 1e6).toFixed(1)} MB JSON), ` +
        `one GET /bare every ${S.everyMs} ms, ${S.runs} applies`,
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const rows = [];
    for (let run = 0; run < S.runs && performance.now() < deadline; run++) {
      rows.push(await measureApply(gw, agent, bodies[run % 2], S.everyMs));
      await sleep(500);
    }
    agent.destroy();
    printRows(rows);
    await stop(gw);
    await stop(up);
    if (profile) {
      for (const f of readdirSync(profiles).filter((n) => n.endsWith('.cpuprofile')))
        console.log(`\nCPU profile of the gateway (${f}):\n${summarizeProfile(join(profiles, f), 30)}`);
    }
  } finally {
    killAll();
    if (!profile) rmSync(tmp, { recursive: true, force: true });
    else console.log(`\nprofiles kept in ${profiles}`);
  }
}

/** One apply with the request stream running from 200 ms before it to 200 ms after its answer. */
async function measureApply(gw, agent, body, everyMs) {
  const lat = [];
  let failed = 0;
  const reasons = new Map();
  let sent = 0;
  let applying = false;
  const inFlight = new Set();
  const one = () => {
    const t0 = performance.now();
    const during = applying;
    sent++;
    const p = new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/bare', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) {
            failed++;
            reasons.set(res.statusCode, (reasons.get(res.statusCode) ?? 0) + 1);
          }
          lat.push({ ms: performance.now() - t0, during });
          resolve();
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        failed++;
        reasons.set(err.code ?? err.message, (reasons.get(err.code ?? err.message) ?? 0) + 1);
        resolve();
      });
      req.end();
    });
    inFlight.add(p);
    p.then(() => inFlight.delete(p));
  };
  const timer = setInterval(one, everyMs);
  await sleep(200);
  gw.child.send('reset');
  applying = true;
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/config`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  const applyMs = performance.now() - t0;
  applying = false;
  const eld = await new Promise((resolve) => {
    gw.child.once('message', (m) => resolve(m.eld));
    gw.child.send('read');
  });
  await sleep(200);
  clearInterval(timer);
  await Promise.all(inFlight);
  if (res.status !== 201) throw new Error(`POST /config: ${res.status} ${text.slice(0, 500)}`);
  const during = lat
    .filter((l) => l.during)
    .map((l) => l.ms)
    .sort((a, b) => a - b);
  const pct = (q) => during[Math.min(during.length - 1, Math.floor(q * during.length))] ?? Number.NaN;
  return {
    applyMs,
    sent,
    during: during.length,
    max: during.at(-1) ?? Number.NaN,
    p99: pct(0.99),
    eld,
    failed,
    reasons: Object.fromEntries(reasons),
  };
}

function printRows(rows) {
  const f = (v) => v.toFixed(0).padStart(8);
  console.log(
    `\n  ${'apply'.padEnd(6)}${'apply ms'.padStart(9)}${'reqs'.padStart(7)}${'lat max'.padStart(9)}${'lat p99'.padStart(9)}` +
      `${'loop max'.padStart(9)}${'loop p99'.padStart(9)}${'gc max'.padStart(8)}${'failed'.padStart(8)}`,
  );
  for (const [i, r] of rows.entries())
    console.log(
      `  ${String(i + 1).padEnd(6)} ${f(r.applyMs)}${String(r.during).padStart(7)} ${f(r.max)} ${f(r.p99)} ${f(r.eld.max)} ${f(r.eld.p99)}${r.eld.gc.toFixed(0).padStart(8)}${String(r.failed).padStart(8)}` +
        (r.failed ? `  ${JSON.stringify(r.reasons)}` : ''),
    );
  console.log(
    '  (ms; reqs and lat: the GET /bare requests sent while the apply ran, client-side latency;\n' +
      '   loop: the gateway event-loop delay over the apply, monitorEventLoopDelay at 1 ms resolution;\n' +
      '   gc max: the longest garbage-collector pause in the gateway over the apply)',
  );
  const worst = Math.max(...rows.map((r) => r.eld.max));
  console.log(
    `  worst event-loop stall ${worst.toFixed(0)} ms (target <= 50 ms: ${worst <= 50 ? 'met' : 'MISSED'})`,
  );
}
