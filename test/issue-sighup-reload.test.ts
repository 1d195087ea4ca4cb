import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { killAll, LOOPBACK, type StartedCli, spawnStart, started, terminate } from './helpers/cli-process.js';
import { ADMIN_TOKEN, call } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

// Issue 11 item 9: `kill -HUP` terminated the gateway. SIGHUP now re-reads the config file and
// the TLS certificate files, and a bad file keeps what runs.

const dir = mkdtempSync(join(tmpdir(), 'portcullis-hup-'));
const file = join(dir, 'gateway.yaml');
const cert = join(dir, 'server.crt');
const key = join(dir, 'server.key');
let up: Upstream;
let gw: StartedCli;
let urls: { url: string; admin: string };
let httpsPort: number;

/** A self-signed certificate for 127.0.0.1 named `cn`, made with openssl. */
function selfSigned(cn: string): { cert: string; key: string } {
  const out = { cert: join(dir, `${cn}.crt`), key: join(dir, `${cn}.key`) };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '2',
      '-keyout',
      out.key,
      '-out',
      out.cert,
    ],
    { stdio: 'pipe' },
  );
  return out;
}

function yaml(deny?: string): string {
  return `services:
  - name: echo
    targets:
      - url: ${up.url}
routes:
  - name: hello
    service: echo
    paths: [/hello]
policies:${deny ? `\n  - name: ip-restriction\n    config: { deny: [${deny}] }` : ' []'}
`;
}

/** The CN of the certificate the HTTPS listener presents. */
function servedCn(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port: httpsPort, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      const cn = s.getPeerX509Certificate()?.subject ?? '';
      s.end();
      resolve(cn);
    });
    s.once('error', reject);
  });
}

let hups = 0;
/** Sends SIGHUP and waits for its "reload done" line (the n-th one). */
async function hup(): Promise<Record<string, any>> {
  const n = ++hups;
  gw.child.kill('SIGHUP');
  let seen = 0;
  return gw.waitLine(`reload ${n}`, (l) => l.msg === 'SIGHUP: reload done' && ++seen === n);
}

const active = async () =>
  (await call(`${urls.admin}/revisions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json
    .active;

before(async () => {
  up = await startUpstream();
  const one = selfSigned('one');
  copyFileSync(one.cert, cert);
  copyFileSync(one.key, key);
  selfSigned('two');
  writeFileSync(file, yaml());
  gw = spawnStart([
    ...LOOPBACK,
    '--data-dir',
    join(dir, 'data'),
    '--config',
    file,
    '--no-watch',
    '--https-port',
    '0',
    '--tls-cert',
    cert,
    '--tls-key',
    key,
  ]);
  urls = await started(gw);
  const l = await gw.waitLine('the HTTPS line', (x) => /^portcullis: HTTPS proxy on /.test(x.text ?? ''));
  httpsPort = Number(/:(\d+)$/.exec(l.text)![1]);
});
after(async () => {
  await terminate(gw);
  killAll();
  await up.close();
});

describe('SIGHUP reloads instead of terminating', () => {
  it('reloads the certificate files: the listener presents the new certificate', async () => {
    assert.equal(await servedCn(), 'CN=one');
    copyFileSync(join(dir, 'two.crt'), cert);
    copyFileSync(join(dir, 'two.key'), key);
    const done = await hup();
    assert.equal(done.tls, 'reloaded');
    assert.equal(done.config, 'unchanged');
    assert.equal(await servedCn(), 'CN=two');
    assert.equal(gw.child.exitCode, null, 'still running');
  });

  it('a bad certificate file keeps the running certificate and logs the error', async () => {
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    const done = await hup();
    assert.equal(done.tls, 'failed');
    const err = gw.lines.find(
      (l) => l.msg === 'SIGHUP: TLS certificates not reloaded; the listener keeps its own',
    );
    assert.equal(err?.level, 50);
    assert.equal(await servedCn(), 'CN=two');
    copyFileSync(join(dir, 'two.crt'), cert);
  });

  it('applies the config file as a new revision when it changed (no watcher)', async () => {
    assert.equal(await active(), 1);
    writeFileSync(file, yaml('127.0.0.0/8'));
    const done = await hup();
    assert.equal(done.config, 'applied');
    assert.equal(done.revision, 2);
    assert.equal((await call(`${urls.url}/hello`)).status, 403);
  });

  it('an unchanged file does not revert a change made through the admin API', async () => {
    const r = await call(`${urls.admin}/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
      body: yaml(),
    });
    assert.equal(r.status, 201, r.text);
    const done = await hup();
    assert.equal(done.config, 'kept');
    assert.equal(await active(), 3);
    assert.equal((await call(`${urls.url}/hello`)).status, 200);
  });

  it('a refused file keeps the running revision', async () => {
    writeFileSync(file, 'services: [\n');
    const done = await hup();
    assert.equal(done.config, 'refused');
    assert.equal(await active(), 3);
  });

  it('SIGTERM still stops gracefully', async () => {
    assert.equal(await terminate(gw), 0);
  });
});
