// The Portcullis configs the scenarios apply. Each comes in two variants that differ only in
// the ip-restriction deny list, so alternating them makes a new revision every time.

const DENY = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '203.0.113.0/24'];
export const ORIGIN = 'https://app.example.com';

function service(upstream) {
  return { name: 'up', targets: [{ url: upstream }] };
}

/** Scenario 1: one route that takes every path, no policies. */
export function singleRoute(upstream) {
  return {
    services: [service(upstream)],
    routes: [{ name: 'all', service: 'up', paths: ['/'] }],
    policies: [],
  };
}

/** Scenarios 2-4: `n` routes on distinct prefixes (/r0 ... /r{n-1}), ip-restriction and cors global. */
export function manyRoutes(upstream, n, variant = 0) {
  const routes = [];
  for (let i = 0; i < n; i++) routes.push({ name: `r${i}`, service: 'up', paths: [`/r${i}`] });
  const deny = variant === 0 ? DENY : [...DENY, '198.51.100.0/24'];
  return {
    services: [service(upstream)],
    routes,
    policies: [
      { name: 'ip-restriction', scope: 'global', config: { deny } },
      { name: 'cors', scope: 'global', config: { origins: [ORIGIN] } },
    ],
  };
}

/** Request paths spread over the `n` routes, in a strided order so neighbours differ. */
export function spreadPaths(n) {
  const step = n > 7919 ? 1 : 7919; // 7919 is prime, so i*step mod n visits every route once
  return Array.from({ length: n }, (_, i) => `/r${(i * step) % n}/items?page=${i % 7}`);
}

/** Scenario 5: the single route behind key-auth (keys issued through the admin API). */
export function keyAuthRoute(upstream) {
  return { ...singleRoute(upstream), policies: [{ name: 'key-auth', scope: 'global', config: {} }] };
}

export const JWT_ISSUER = 'https://idp.bench.example';

/** Scenario 6: the single route behind jwt (RS256 public key inline, verification cache on). */
export function jwtRoute(upstream, publicKeyPem) {
  return {
    ...singleRoute(upstream),
    policies: [
      {
        name: 'jwt',
        scope: 'global',
        config: {
          issuers: [{ issuer: JWT_ISSUER, algorithms: ['RS256'], publicKeys: [{ pem: publicKeyPem }] }],
        },
      },
    ],
  };
}

/** Scenarios 8 and 10: one route with a per-client-IP rate limit high enough to admit every request. */
export function rateLimited(upstream) {
  return {
    services: [service(upstream)],
    routes: [{ name: 'all', service: 'up', paths: ['/'] }],
    policies: [
      { name: 'rate-limit', config: { limits: [{ requests: 1_000_000_000, per: '1s', burst: 1_000_000 }] } },
    ],
  };
}

/** Scenario 9: ip-restriction with a deny list file of `n` CIDRs (none matching the client). */
export function bigDenyList(upstream, file) {
  return {
    services: [service(upstream)],
    routes: [{ name: 'all', service: 'up', paths: ['/'] }],
    policies: [{ name: 'ip-restriction', config: { denyFiles: [file] } }],
  };
}

/** Scenario 9's list: 100,000 distinct CIDRs and addresses, IPv4 and IPv6, none covering loopback. */
export function denyListText(n = 100_000) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9) lines.push(`2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`);
    else lines.push(`${11 + ((i >> 16) % 100)}.${(i >> 8) & 255}.${i & 255}.${i % 3 === 0 ? '0/24' : '7'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Scenario 7's body (also measured by bench/waf-micro.ts): a realistic order, valid and free of attack signals. */
export const ORDER_BODY = JSON.stringify({
  customer: { name: "Siobhán O'Brien", email: 'siobhan.obrien@example.com', phone: '+353 1 555 0100' },
  items: [
    { sku: 'BK-1042', quantity: 2, price: 19.99, note: 'gift wrap, please' },
    { sku: 'PN-0007', quantity: 1, price: 4.5 },
    { sku: 'MG-2210', quantity: 3, price: 12 },
  ],
  shipping: { street: '12 Main Street', city: 'Dublin', postcode: 'D02 X285', country: 'IE' },
  notes: 'Leave at the door; ring twice. Select the faster courier if the order is large.',
  coupon: 'SPRING-24',
});

/**
 * bench/apply-stall.mjs: a large config, `routes` routes over 20 services and `policies`
 * route-scoped policies (rate-limit, ip-restriction, cors, request-size-limit in turn) on the
 * first routes, plus two global ones. Route `bare` (`/bare`) has no policies of its own. The
 * variants differ in the global deny list, so alternating them makes a new revision every time.
 */
export function largeConfig(upstream, routes, policies, variant = 0) {
  const services = Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, targets: [{ url: upstream }] }));
  const list = [{ name: 'bare', service: 's0', paths: ['/bare'] }];
  for (let i = 1; i < routes; i++) {
    const r = { name: `r${i}`, service: `s${i % 20}`, paths: [`/api/v${i % 3}/r${i}`] };
    if (i % 4 === 1) r.paths.push(`/api/v${i % 3}/r${i}/items/:id`);
    if (i % 5 === 2) r.methods = ['GET', 'POST'];
    if (i % 7 === 3) r.hosts = [`h${i % 50}.example.com`];
    list.push(r);
  }
  const kinds = [
    (i) => ({ name: 'rate-limit', config: { limits: [{ requests: 1000 + i, per: '1s' }] } }),
    (i) => ({ name: 'ip-restriction', config: { deny: [`10.${i % 256}.0.0/16`] } }),
    () => ({ name: 'cors', config: { origins: [ORIGIN] } }),
    (i) => ({ name: 'request-size-limit', config: { maxBodyBytes: 1024 * (1 + (i % 64)) } }),
  ];
  const deny = variant === 0 ? DENY : [...DENY, '198.51.100.0/24'];
  const pols = [
    { name: 'ip-restriction', scope: 'global', config: { deny } },
    { name: 'request-id', scope: 'global', config: {} },
  ];
  for (let i = 0; pols.length < policies; i++)
    pols.push({ ...kinds[i % kinds.length](i), scope: { route: `r${1 + (i % (routes - 1))}` } });
  return { services, routes: list, policies: pols };
}
