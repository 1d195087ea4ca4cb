// The request-log scenarios of `npm run bench`: one route with the request log on against the
// same route with it off, in one run, alternating; then the replay speed over what the log-on
// gateway recorded, in recorded requests per second.
//
//   npm run build && node bench/reqlog.mjs
//
// Env: BENCH_DURATION (s per measurement, default 5), BENCH_WARMUP (s, default 3), BENCH_ROUNDS
// (default 4), BENCH_CONNECTIONS (default 32), BENCH_REPLAY_LIMIT (records replayed, default
// 50000). Both gateways discard their access log (bench/portcullis.mjs), so the difference is
// the request log alone: the copy and queue on the request path, the batched SQLite writes
// beside it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, killAll, loadGenerator, ROOT, start, stop } from './procs.mjs';

const env = (name, dflt) => Number(process.env[name] ?? dflt);
const S = {
  duration: env('BENCH_DURATION', 5),
  warmup: env('BENCH_WARMUP', 3),
  rounds: env('BENCH_ROUNDS', 4),
  connections: env('BENCH_CONNECTIONS', 32),
  replayLimit: env('BENCH_REPLAY_LIMIT', 50_000),
};
const TOKEN = 'bench-admin-token-0123456789';
const tmp = mkdtempSync(join(tmpdir(), 'portcullis-bench-reqlog-'));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One route on `/`, a cheap global policy so that each record carries a decision. */
function config(upstream, requestLog) {
  return {
    services: [{ name: 'up', targets: [{ url: upstream }] }],
    routes: [{ name: 'all', service: 'up', paths: ['/'] }],
    policies: [{ name: 'ip-restriction', config: { deny: ['10.0.0.0/8', '192.168.0.0/16'] } }],
    gateway: { requestLog: { enabled: requestLog } },
  };
}

async function startPortcullis(name, cfg) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(cfg));
  const pc = await start(name, join(ROOT, 'bench', 'portcullis.mjs'), [file, join(dir, 'data')], {
    env: { PORTCULLIS_ADMIN_TOKEN: TOKEN },
  });
  pc.url = `http://127.0.0.1:${pc.port}`;
  return pc;
}

async function adminPost(pc, path, body) {
  const res = await fetch(`http://127.0.0.1:${pc.adminPort}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok)
    throw new Error(`POST ${path} to ${pc.name}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function main() {
  console.log(
    `\nportcullis bench, request log: ${S.duration} s per measurement, ${S.warmup} s warm-up, ${S.rounds} rounds, ${S.connections} connections`,
  );
  const upstream = await start('upstream', join(ROOT, 'bench', 'upstream.mjs'), []);
  const upUrl = `http://127.0.0.1:${upstream.port}`;
  const off = await startPortcullis('reqlog-off', config(upUrl, false));
  const on = await startPortcullis('reqlog-on', config(upUrl, true));
  const load = await loadGenerator();
  const procs = [upstream, off, on, load.proc];
  const job = { connections: S.connections, paths: ['/items?page=1', '/items/42', '/search?q=bench'] };
  try {
    for (const pc of [off, on]) await load.run({ ...job, url: pc.url, duration: S.warmup });
    const runs = { off: [], on: [] };
    // Alternating, and in the opposite order every other round, so drift on a shared machine
    // falls on both sides.
    for (let r = 0; r < S.rounds; r++) {
      const order = [
        ['off', off],
        ['on', on],
      ];
      if (r % 2) order.reverse();
      for (const [label, pc] of order) {
        const cpu0 = cpuSeconds(pc);
        const res = await load.run({ ...job, url: pc.url, duration: S.duration });
        const cpu = cpuSeconds(pc) - cpu0;
        runs[label].push({ ...res, cpuUs: res.total ? (cpu * 1e6) / res.total : Number.NaN });
      }
    }
    const sum = (label) => ({
      rps: mean(runs[label].map((x) => x.rps)),
      p50: mean(runs[label].map((x) => x.latencyP50)),
      p99: mean(runs[label].map((x) => x.latencyP99)),
      cpuUs: mean(runs[label].map((x) => x.cpuUs)),
      total: runs[label].reduce((a, x) => a + x.total, 0),
      failures: runs[label].reduce((a, x) => a + x.non2xx + x.errors + x.timeouts, 0),
    });
    const o = sum('off');
    const n = sum('on');
    const ratio = n.rps / o.rps;
    console.log(
      '\nR1. one route (ip-restriction global), request log on vs off (access log discarded on both)',
    );
    console.log(
      `  ${'target'.padEnd(20)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU us/req'.padStart(12)}${'fail'.padStart(6)}`,
    );
    for (const [label, x] of [
      ['request log off', o],
      ['request log on', n],
    ])
      console.log(
        `  ${label.padEnd(20)}${x.rps.toFixed(0).padStart(8)}${x.p50.toFixed(1).padStart(8)}${x.p99.toFixed(1).padStart(8)}${x.cpuUs.toFixed(0).padStart(12)}${String(x.failures).padStart(6)}`,
      );
    console.log(
      `  on/off: req/s ${ratio.toFixed(2)}x, CPU/req ${(n.cpuUs / o.cpuUs).toFixed(2)}x; target req/s >= 0.90x: ${ratio >= 0.9 ? 'met' : `MISSED by ${((0.9 - ratio) * 100).toFixed(0)} points`}`,
    );

    // R2: replay what the log-on gateway recorded against a candidate with two more policies.
    const candidate = config(upUrl, true);
    candidate.policies.push(
      { name: 'rate-limit', config: { limits: [{ requests: 1000, per: '1s' }] } },
      { name: 'ip-restriction', id: 'shadow-block', mode: 'shadow', config: { deny: ['127.0.0.0/8'] } },
    );
    const t0 = performance.now();
    const rep = await adminPost(on, '/replay', { candidate, since: '1h', limit: S.replayLimit });
    const wall = performance.now() - t0;
    console.log(
      `\nR2. replay of recorded requests through the current revision and a candidate (rate-limit + shadow ip-restriction)`,
    );
    console.log(
      `  ${rep.replayed} recorded requests (warm-up and every round) replayed in ${rep.durationMs} ms (compiling both revisions ${rep.compileMs} ms): ${rep.requestsPerSecond} recorded requests/s, each through both revisions (${Math.round((rep.replayed / wall) * 1000)}/s counting the HTTP call); newly denied ${rep.newlyDenied}, current mismatches ${rep.currentMismatch}`,
    );
    const results = {
      date: new Date().toISOString(),
      settings: S,
      requestLog: { off: o, on: n, rpsRatio: ratio, target: 0.9 },
      replay: {
        replayed: rep.replayed,
        durationMs: rep.durationMs,
        compileMs: rep.compileMs,
        requestsPerSecond: rep.requestsPerSecond,
        wallMs: wall,
      },
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'reqlog.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log('\nresults: bench/results/reqlog.json');
  } finally {
    await Promise.all(procs.map(stop));
  }
}

main()
  .catch((err) => {
    console.error(err);
    killAll();
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
