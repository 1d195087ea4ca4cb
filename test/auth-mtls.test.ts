import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accessLineOf } from './helpers/access-log.js';
import { adminCall, call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

/** A CA, a server certificate for 127.0.0.1 and client certificates, made with openssl in a temp dir. */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) =>
    ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const issue = (name: string, subj: string, ext: string, caName = 'ca') => {
    key(name);
    ssl('req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.crt`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  const selfSigned = (name: string, subj: string) => {
    key(name);
    ssl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subj,
      '-days',
      '2',
      '-sha256',
      '-out',
      `${name}.crt`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  selfSigned('ca', '/O=Test/CN=Portcullis Test CA');
  selfSigned('rogue-ca', '/O=Test/CN=Portcullis Test CA');
  const client = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
  issue(
    'server',
    '/CN=127.0.0.1',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  issue(
    'client-a',
    '/O=Acme/CN=client-a',
    `${client}subjectAltName=DNS:client-a.example,URI:spiffe://acme/a\n`,
  );
  issue('client-b', '/O=Acme/CN=client-b', client);
  issue('client-c', '/O=Acme/CN=client-c', `${client}subjectAltName=URI:spiffe://acme/c\n`);
  issue('nobody', '/O=Acme/CN=nobody', client);
  issue(
    'rogue-a',
    '/O=Acme/CN=client-a',
    `${client}subjectAltName=DNS:client-a.example,URI:spiffe://acme/a\n`,
    'rogue-ca',
  );
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { dir, read, ca: read('ca.crt') };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/** One HTTPS request with an optional client certificate. */
function tlsCall(
  port: number,
  path: string,
  ca: string,
  client?: { cert: string; key: string },
  extra: object = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, ca, agent: false, ...client, ...extra },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text ? JSON.parse(text) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('mtls-auth over the HTTPS listener', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let up: Upstream;
  let g: TestGateway;
  let port: number;
  const as = (name: string) => ({ cert: pki.read(`${name}.crt`), key: pki.read(`${name}.key`) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-mtls-'));
    pki = makePki(dir);
    up = await startUpstream();
    g = await startGateway(
      {
        services: [{ name: 'echo', targets: [{ url: up.url }] }],
        routes: [
          { name: 'certs', service: 'echo', paths: ['/certs'] },
          { name: 'open', service: 'echo', paths: ['/open'] },
        ],
        policies: [{ name: 'mtls-auth', scope: { route: 'certs' }, config: { forwardHeaders: true } }],
      },
      {
        tls: {
          port: 0,
          host: '127.0.0.1',
          certFile: join(dir, 'server.crt'),
          keyFile: join(dir, 'server.key'),
          caFiles: [join(dir, 'ca.crt')],
        },
      },
    );
    port = g.gw.httpsPort!;
    for (const name of ['alice', 'bob', 'carol'])
      assert.equal((await adminCall(g, 'POST', '/consumers', { name })).status, 201);
    const bind = async (consumer: string, match: string, value: string) => {
      const r = await adminCall(g, 'POST', `/consumers/${consumer}/credentials`, {
        kind: 'mtls-auth',
        match,
        value,
      });
      assert.equal(r.status, 201, r.text);
    };
    await bind('alice', 'subject', 'CN=client-a,O=Acme');
    await bind('bob', 'fingerprint', new X509Certificate(pki.read('client-b.crt')).fingerprint256);
    await bind('carol', 'san', 'URI:spiffe://acme/c');
  });
  after(async () => {
    await g.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps a verified certificate to its consumer by subject, fingerprint or SAN', async () => {
    for (const [cert, consumer, rule] of [
      ['client-a', 'alice', 'mtls:subject'],
      ['client-b', 'bob', 'mtls:fingerprint'],
      ['client-c', 'carol', 'mtls:san'],
    ]) {
      const r = await tlsCall(port, '/certs', pki.ca, as(cert));
      assert.equal(r.status, 200, `${cert}: ${JSON.stringify(r.json)}`);
      const line = await accessLineOf(g.access, r);
      assert.equal(line.consumer, consumer);
      assert.equal(line.decisions[0].rule, rule);
    }
    const r = await tlsCall(port, '/certs', pki.ca, as('client-a'), {
      headers: { 'x-client-cert-subject': 'CN=forged' },
    });
    assert.equal(r.json.headers['x-client-cert-subject'], 'CN=client-a,O=Acme');
    assert.equal(
      r.json.headers['x-client-cert-fingerprint'],
      new X509Certificate(pki.read('client-a.crt')).fingerprint256.replace(/:/g, '').toLowerCase(),
    );
    assert.equal(r.json.headers['x-forwarded-proto'], 'https');
  });

  it('refuses an unverified certificate with the same subject, an unknown one, and none, with 401', async () => {
    const rogue = await tlsCall(port, '/certs', pki.ca, as('rogue-a'));
    assert.equal(rogue.status, 401);
    assert.equal(rogue.json.error.code, 'PCS_ERR_AUTH_INVALID_CREDENTIALS');
    assert.equal(rogue.headers['www-authenticate'], 'ClientCertificate realm="portcullis"');
    const line = await accessLineOf(g.access, rogue);
    assert.equal(line.decisions[0].rule, 'mtls-auth:unverified');
    const unknown = await tlsCall(port, '/certs', pki.ca, as('nobody'));
    assert.equal(unknown.status, 401);
    assert.equal((await accessLineOf(g.access, unknown)).decisions[0].rule, 'mtls-auth:unknown_certificate');
    const none = await tlsCall(port, '/certs', pki.ca);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
    const plain = await call(`${g.url}/certs`);
    assert.equal(plain.status, 401);
    assert.equal(plain.json.error.code, 'PCS_ERR_AUTH_REQUIRED');
  });

  it('serves routes without mtls-auth over HTTPS with no client certificate', async () => {
    const r = await tlsCall(port, '/open', pki.ca);
    assert.equal(r.status, 200);
    assert.equal(r.json.headers['x-forwarded-proto'], 'https');
  });

  it('refuses TLS below 1.2 at the handshake', async () => {
    await assert.rejects(
      tlsCall(port, '/open', pki.ca, undefined, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }),
    );
  });
});
