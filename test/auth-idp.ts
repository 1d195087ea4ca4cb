import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback identity provider speaking the real wire formats: OIDC discovery, JWKS and RFC 7662
 * introspection. Tests change what it serves (`jwks`, `down`, `introspect`) and read `hits`.
 */
export interface FakeIdp {
  url: string;
  jwks: { keys: object[] };
  /** When set, every endpoint answers this status (503: the provider is down). */
  down: number | undefined;
  hits: Record<string, number>;
  /** Introspection answer for a token (RFC 7662 §2.2); absent tokens are `{ active: false }`. */
  tokens: Map<string, Record<string, unknown>>;
  /** Client credentials the introspection endpoint accepts (Basic). */
  client: { id: string; secret: string };
  lastIntrospection: { authorization?: string; body: string } | undefined;
  issuer: string;
  close(): Promise<void>;
}

export async function startIdp(): Promise<FakeIdp> {
  const idp = {
    jwks: { keys: [] as object[] },
    down: undefined as number | undefined,
    hits: {} as Record<string, number>,
    tokens: new Map<string, Record<string, unknown>>(),
    client: { id: 'gateway', secret: 'gateway-secret' },
    lastIntrospection: undefined as FakeIdp['lastIntrospection'],
  } as FakeIdp;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      idp.hits[path] = (idp.hits[path] ?? 0) + 1;
      const json = (status: number, v: unknown) => {
        const body = JSON.stringify(v);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      };
      if (idp.down) return json(idp.down, { error: 'temporarily_unavailable' });
      if (path === '/.well-known/openid-configuration')
        return json(200, {
          issuer: idp.issuer,
          jwks_uri: `${idp.url}/jwks`,
          introspection_endpoint: `${idp.url}/introspect`,
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        });
      if (path === '/jwks') return json(200, idp.jwks);
      if (path === '/introspect' && req.method === 'POST') {
        const body = Buffer.concat(chunks).toString('utf8');
        idp.lastIntrospection = { authorization: req.headers.authorization, body };
        const expected = `Basic ${Buffer.from(`${idp.client.id}:${idp.client.secret}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        return json(200, idp.tokens.get(token) ?? { active: false });
      }
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  idp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp.issuer = idp.url;
  idp.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return idp;
}
