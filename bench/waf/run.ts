// npm run bench:waf — sends the GoTestWAF requests and the benign corpus through a real gateway
// (waf at paranoia 1 on a catch-all route to a loopback upstream) and reports, per category, the
// share of attacks blocked (403) and the share of benign requests passed.
// Options: --paranoia N, --corpus PATH (GoTestWAF requests.jsonl), --verbose (lists misses).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../test/helpers/gateway.js';

interface Row {
  set: string;
  case: string;
  blocked_expected: boolean;
  placeholder?: string;
  encoder?: string;
  payload?: string;
  protocol?: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: string | null;
}

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : dflt;
};
const paranoia = Number(arg('paranoia', '1'));
const corpus = arg('corpus', join(here, '../../../shared/corpora/gotestwaf/requests.jsonl'));
const benignPath = join(here, '../corpora/benign/requests.jsonl');
const verbose = process.argv.includes('--verbose');

function load(path: string): Row[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Row);
}

/** Sends one request byte for byte over a raw socket, so odd methods and headers arrive as built. */
function send(port: number, r: Row): Promise<number> {
  const target = r.target.replace('{GRAPHQL_PATH}', '/graphql');
  const body = r.body === null || r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, 'utf8');
  let head = `${r.method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
  const names = Object.keys(r.headers).map((h) => h.toLowerCase());
  if (!names.includes('user-agent'))
    head +=
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n';
  for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
  if (body.length || ['POST', 'PUT', 'PATCH'].includes(r.method))
    head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(10000, () => s.destroy());
    s.on('data', (d) => {
      buf += d.toString('latin1');
    });
    s.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      resolve(m ? Number(m[1]) : 0);
    });
    s.on('error', () => undefined);
    s.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  });
}

async function runAll(port: number, rows: Row[], concurrency = 16): Promise<number[]> {
  const out: number[] = new Array(rows.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < rows.length) {
        const i = next++;
        out[i] = await send(port, rows[i] as Row);
      }
    }),
  );
  return out;
}

const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upPort = (upstream.address() as AddressInfo).port;
const gw = await startGateway(
  {
    services: [{ name: 'app', targets: [{ url: `http://127.0.0.1:${upPort}` }] }],
    routes: [{ name: 'all', service: 'app', paths: ['/'] }],
    policies: [{ name: 'waf', config: { paranoia } }],
    gateway: { limits: { maxBufferedBodyBytes: 1048576 } },
  },
  { logLevel: 'error' },
);
const port = Number(new URL(gw.url).port);

const attacks = load(corpus).filter((r) => r.protocol !== 'grpc' && r.target !== undefined);
const benign = load(benignPath).map((r) => ({ ...r, set: 'benign', blocked_expected: false }));
const rows = [...attacks, ...benign];
const t0 = process.hrtime.bigint();
const statuses = await runAll(port, rows);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
await gw.stop();
upstream.close();

interface Tally {
  n: number;
  blocked: number;
  passed: number;
  other: number;
}
const byCase = new Map<string, Tally>();
const bySet = new Map<string, Tally>();
const misses: string[] = [];
rows.forEach((r, i) => {
  const s = statuses[i] as number;
  for (const [map, key] of [
    [byCase, `${r.set}/${r.case}`],
    [bySet, r.set],
  ] as const) {
    const t = map.get(key) ?? { n: 0, blocked: 0, passed: 0, other: 0 };
    t.n++;
    if (s === 403) t.blocked++;
    else if (s === 200 || s === 404) t.passed++;
    else t.other++;
    map.set(key, t);
  }
  const wrong = r.blocked_expected ? s !== 403 : s === 403;
  if (wrong)
    misses.push(
      `${s} ${r.set}/${r.case} ${r.encoder ?? ''} ${r.placeholder ?? ''} ${JSON.stringify(r.payload ?? r.body ?? r.target).slice(0, 160)}`,
    );
});

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
console.log(`waf bench: paranoia ${paranoia}, ${rows.length} requests in ${ms.toFixed(0)} ms\n`);
console.log(
  'set/case'.padEnd(44),
  'n'.padStart(5),
  'blocked'.padStart(9),
  'passed'.padStart(9),
  'other'.padStart(6),
);
for (const [k, t] of [...byCase.entries()].sort()) {
  console.log(
    k.padEnd(44),
    String(t.n).padStart(5),
    pct(t.blocked, t.n).padStart(9),
    pct(t.passed, t.n).padStart(9),
    String(t.other).padStart(6),
  );
}
console.log();
let attackN = 0;
let attackBlocked = 0;
for (const [k, t] of [...bySet.entries()].sort()) {
  const expectBlock = k !== 'false-pos' && k !== 'benign';
  if (expectBlock) {
    attackN += t.n;
    attackBlocked += t.blocked;
  }
  console.log(
    `${k.padEnd(12)} n=${t.n} ${expectBlock ? `blocked ${pct(t.blocked, t.n)}` : `passed ${pct(t.passed, t.n)} (false positives ${pct(t.blocked, t.n)})`}${t.other ? `, other status ${t.other}` : ''}`,
  );
}
console.log(`\nattacks blocked overall: ${pct(attackBlocked, attackN)} of ${attackN}`);
if (verbose) console.log(`\nmisses:\n${misses.join('\n')}`);
