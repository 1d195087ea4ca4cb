// The AI scenario of `npm run bench`: Portcullis's AI gateway against calling a loopback mock
// provider directly, in one run, alternating. Reports the latency the gateway adds (p50/p99) to a
// non-streamed chat completion, the time it adds to the first streamed byte, and the gateway's
// memory (RSS and heap after GC) sampled across 100,000 requests.
//
//   npm run build && node bench/ai.mjs
//
// Env: AI_BENCH_N (sequential requests per target per round, default 1000), AI_BENCH_ROUNDS
// (default 5), AI_BENCH_WARMUP (default 2000), AI_BENCH_MEMORY (requests in the memory run,
// default 100000), AI_BENCH_CONCURRENCY (memory run, default 32), AI_BENCH_PROFILE=1 (a CPU
// profile of the plain gateway in bench/results/profiles/ai-gateway.cpuprofile).
//
// Processes: this one (orchestrator and client), the mock provider and two gateways (plain, and
// with the prompt-injection and PII guards), each forked from this file. All on 127.0.0.1.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..');
const role = process.argv[2];

// ---------------------------------------------------------------- mock provider (child)

function mockProvider() {
  const usage = { prompt_tokens: 24, completion_tokens: 9, total_tokens: 33 };
  const base = { id: 'chatcmpl-bench', created: 1700000000, model: 'bench-model' };
  const answer = JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Paris is the capital of France.' },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage,
  });
  const chunk = (delta, finish = null) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
  const first = chunk({ role: 'assistant', content: '' });
  const rest = [
    ...['Paris', ' is', ' the', ' capital', ' of', ' France', '.'].map((t) => chunk({ content: t })),
    chunk({}, 'stop'),
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`,
    'data: [DONE]\n\n',
  ];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const stream = raw.includes('"stream":true');
      if (!stream) {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(answer),
        });
        res.end(answer);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(first);
      // The rest of the answer trickles in on later turns of the loop, as a provider's does.
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < rest.length) {
          res.write(rest[i++]);
          setImmediate(next);
        } else res.end();
      };
      setImmediate(next);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
}

// ---------------------------------------------------------------- gateway (child)

async function gateway(mockPort, guards) {
  const { Gateway } = await import(join(ROOT, 'dist', 'gateway.js'));
  const discard = { write() {} };
  const config = {
    services: [],
    routes: [{ name: 'llm', paths: ['/v1'], ai: { endpoint: 'openai' } }],
    policies: guards
      ? [
          { name: 'ai-guard-injection', scope: { route: 'llm' } },
          { name: 'ai-guard-pii', scope: { route: 'llm' } },
        ]
      : [],
    ai: {
      providers: [
        {
          name: 'mock',
          kind: 'openai-compatible',
          baseUrl: `http://127.0.0.1:${mockPort}/v1`,
          apiKey: 'sk-bench',
        },
      ],
      models: [{ name: 'fast', targets: [{ provider: 'mock', model: 'bench-model' }] }],
      prices: [{ model: 'bench-model', inputPerMillion: 0.15, outputPerMillion: 0.6 }],
    },
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-ai-bench-'));
  const gw = new Gateway({
    config,
    dataDir,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    adminToken: 'bench-admin-token-0123456789',
    accessLogSink: discard,
  });
  const { port } = await gw.start();
  process.on('message', (m) => {
    if (m?.memory) {
      globalThis.gc?.();
      const u = process.memoryUsage();
      process.send({
        memory: { rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external },
      });
    }
  });
  process.once('SIGTERM', () =>
    gw.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }),
  );
  process.send({ ready: true, port });
}

// ---------------------------------------------------------------- orchestrator

function start(name, args, execArgv = []) {
  const child = fork(fileURLToPath(import.meta.url), args, {
    cwd: ROOT,
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve({ name, child, port: m.port });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited early (${code})`)));
  });
}

function stop(p) {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve();
    const kill = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    p.child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    p.child.kill('SIGTERM');
  });
}

function memoryOf(p) {
  return new Promise((resolve) => {
    p.child.once('message', (m) => resolve(m.memory));
    p.child.send({ memory: true });
  });
}

const BODY = JSON.stringify({
  model: 'fast',
  messages: [
    { role: 'system', content: 'You are a concise geography assistant.' },
    { role: 'user', content: 'What is the capital of France? Answer in one sentence.' },
  ],
  max_tokens: 64,
});
const STREAM_BODY = JSON.stringify({ ...JSON.parse(BODY), stream: true });

async function main() {
  const { Pool } = await import('undici');
  const env = (k, d) => Number(process.env[k] ?? d);
  const N = env('AI_BENCH_N', 1000);
  const ROUNDS = env('AI_BENCH_ROUNDS', 5);
  const WARMUP = env('AI_BENCH_WARMUP', 2000);
  const MEMORY = env('AI_BENCH_MEMORY', 100_000);
  const CONC = env('AI_BENCH_CONCURRENCY', 32);

  const mock = await start('mock', ['mock']);
  const prof =
    process.env.AI_BENCH_PROFILE === '1'
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          join(ROOT, 'bench', 'results', 'profiles'),
          '--cpu-prof-name',
          'ai-gateway.cpuprofile',
        ]
      : [];
  const plain = await start('gateway', ['gateway', String(mock.port), ''], ['--expose-gc', ...prof]);
  const guarded = await start('gateway+guards', ['gateway', String(mock.port), 'guards'], ['--expose-gc']);
  const targets = [
    { name: 'direct (mock)', path: '/v1/chat/completions', port: mock.port },
    { name: 'portcullis', path: '/v1/chat/completions', port: plain.port },
    { name: 'portcullis + guards', path: '/v1/chat/completions', port: guarded.port },
  ];
  for (const t of targets)
    t.pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: CONC, pipelining: 1 });

  /** One request; returns [total ms, ms to the first body byte]. */
  async function once(t, body) {
    const t0 = process.hrtime.bigint();
    const r = await t.pool.request({
      method: 'POST',
      path: t.path,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-caller' },
      body,
    });
    let first = 0n;
    for await (const _ of r.body) if (!first) first = process.hrtime.bigint();
    const end = process.hrtime.bigint();
    if (r.statusCode !== 200) throw new Error(`${t.name}: status ${r.statusCode}`);
    return [Number(end - t0) / 1e6, Number((first || end) - t0) / 1e6];
  }

  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };

  process.stderr.write(`ai bench: warm-up (${WARMUP} requests per target)\n`);
  for (const t of targets) for (let i = 0; i < WARMUP; i++) await once(t, i % 4 === 0 ? STREAM_BODY : BODY);

  // Sequential requests, targets alternating round by round, so drift hits all alike.
  const lat = new Map(targets.map((t) => [t.name, { total: [], ttfb: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`ai bench: latency round ${round + 1}/${ROUNDS}\n`);
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const m = lat.get(t.name);
      for (let i = 0; i < N; i++) m.total.push((await once(t, BODY))[0]);
      for (let i = 0; i < N; i++) m.ttfb.push((await once(t, STREAM_BODY))[1]);
    }
  }
  const d = lat.get('direct (mock)');
  const latency = targets.map((t) => {
    const m = lat.get(t.name);
    const row = {
      target: t.name,
      p50: pct(m.total, 50),
      p99: pct(m.total, 99),
      ttfbP50: pct(m.ttfb, 50),
      ttfbP99: pct(m.ttfb, 99),
    };
    return {
      ...row,
      addedP50: row.p50 - pct(d.total, 50),
      addedP99: row.p99 - pct(d.total, 99),
      addedTtfbP50: row.ttfbP50 - pct(d.ttfb, 50),
      addedTtfbP99: row.ttfbP99 - pct(d.ttfb, 99),
    };
  });

  // Memory: MEMORY requests through the plain gateway (one in ten streamed), CONC in flight,
  // RSS and heap after a full GC sampled every tenth of the run.
  process.stderr.write(`ai bench: memory run (${MEMORY} requests, ${CONC} in flight)\n`);
  const samples = [{ requests: 0, ...(await memoryOf(plain)) }];
  const step = MEMORY / 10;
  let sent = 0;
  let done = 0;
  const t0 = process.hrtime.bigint();
  for (let s = 1; s <= 10; s++) {
    const goal = s * step;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (sent < goal) {
          const n = sent++;
          await once(targets[1], n % 10 === 0 ? STREAM_BODY : BODY);
          done++;
        }
      }),
    );
    samples.push({ requests: done, ...(await memoryOf(plain)) });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;

  for (const t of targets) await t.pool.close();
  await Promise.all([stop(plain), stop(guarded), stop(mock)]);

  const ms = (x) => x.toFixed(3);
  const mb = (x) => (x / 1048576).toFixed(1);
  console.log(`\nAI gateway latency: ${ROUNDS} rounds x ${N} sequential requests per target and kind\n`);
  console.log(
    '| target | p50 ms | p99 ms | added p50 | added p99 | TTFB p50 | TTFB p99 | added TTFB p50 | added TTFB p99 |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of latency)
    console.log(
      `| ${r.target} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.addedP50)} | ${ms(r.addedP99)} | ${ms(r.ttfbP50)} | ${ms(r.ttfbP99)} | ${ms(r.addedTtfbP50)} | ${ms(r.addedTtfbP99)} |`,
    );
  console.log(
    `\nMemory of the gateway over ${done} requests (${(done / seconds).toFixed(0)} req/s, ${CONC} in flight; after a full GC)\n`,
  );
  console.log('| requests | RSS MB | heap used MB |');
  console.log('|---|---|---|');
  for (const s of samples) console.log(`| ${s.requests} | ${mb(s.rss)} | ${mb(s.heapUsed)} |`);
  const first = samples[1];
  const last = samples.at(-1);
  const heapGrowth = last.heapUsed - first.heapUsed;
  const range = (k) => {
    const xs = samples.slice(1).map((x) => x[k]);
    return `${mb(Math.min(...xs))} to ${mb(Math.max(...xs))} MB`;
  };
  console.log(
    `\nfrom ${first.requests} to ${last.requests} requests: heap ${heapGrowth >= 0 ? '+' : ''}${mb(heapGrowth)} MB (range ${range('heapUsed')}), RSS range ${range('rss')}`,
  );
  const plainRow = latency[1];
  const verdict = {
    addedP50Under1ms: plainRow.addedP50 < 1,
    addedTtfbUnder1ms: plainRow.addedTtfbP50 < 1,
    heapFlat: heapGrowth < 5 * 1048576,
  };
  console.log(`targets: ${JSON.stringify(verdict)}`);
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'ai.json'),
    `${JSON.stringify({ date: new Date().toISOString(), settings: { N, ROUNDS, WARMUP, MEMORY, CONC }, latency, memory: samples, seconds, verdict }, null, 2)}\n`,
  );
}

if (role === 'mock') mockProvider();
else if (role === 'gateway') await gateway(Number(process.argv[3]), process.argv[4] === 'guards');
else
  await main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
