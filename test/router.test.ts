import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteConfig } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { RouteTable, Router } from '../src/proxy/router.js';

interface R {
  index: number;
  def: RouteConfig;
}

/** Builds a router from partial route definitions, named r0, r1, ... unless named. */
function router(defs: Partial<RouteConfig>[]): Router<R> {
  const routes = defs.map((d, index) => ({
    index,
    def: {
      name: `r${index}`,
      service: 's',
      paths: ['/'],
      pathMatch: 'prefix',
      priority: 0,
      stripPath: false,
      preserveHost: false,
      lifecycle: 'active',
      ...d,
    } as RouteConfig,
  }));
  return new Router(routes);
}

function name(
  r: Router<R>,
  path: string,
  opts: { method?: string; host?: string; headers?: Record<string, string> } = {},
): string | undefined {
  return r.find(opts.method ?? 'GET', opts.host ?? 'gw.test', path, opts.headers ?? {})?.route.def.name;
}

describe('router: paths', () => {
  it('prefix matches on segment boundaries only', () => {
    const r = router([{ paths: ['/hello'] }]);
    assert.equal(name(r, '/hello'), 'r0');
    assert.equal(name(r, '/hello/'), 'r0');
    assert.equal(name(r, '/hello/x/y'), 'r0');
    assert.equal(name(r, '/helloworld'), undefined);
    assert.equal(name(r, '/hell'), undefined);
    assert.equal(name(r, '/'), undefined);
  });

  it('a prefix written with a trailing slash behaves as without', () => {
    const r = router([{ paths: ['/api/'] }]);
    assert.equal(name(r, '/api'), 'r0');
    assert.equal(name(r, '/api/v1'), 'r0');
    assert.equal(name(r, '/apiv1'), undefined);
  });

  it('exact matches the path only', () => {
    const r = router([{ paths: ['/status'], pathMatch: 'exact' }]);
    assert.equal(name(r, '/status'), 'r0');
    assert.equal(name(r, '/status/x'), undefined);
    assert.equal(name(r, '/statusx'), undefined);
  });

  it('the root prefix matches everything', () => {
    const r = router([{ paths: ['/'] }]);
    for (const p of ['/', '/a', '/a/b/c']) assert.equal(name(r, p), 'r0', p);
  });

  it('is case-sensitive', () => {
    const r = router([{ paths: ['/Hello'] }]);
    assert.equal(name(r, '/Hello'), 'r0');
    assert.equal(name(r, '/hello'), undefined);
  });

  it('captures :name parameters', () => {
    const r = router([{ paths: ['/users/:id'], pathMatch: 'exact' }, { paths: ['/orgs/:org/repos/:repo'] }]);
    const m = r.find('GET', 'gw.test', '/users/42', {});
    assert.equal(m?.route.def.name, 'r0');
    assert.equal(m?.params.id, '42');
    assert.equal(name(r, '/users/42/x'), undefined);
    assert.equal(name(r, '/users'), undefined);
    assert.equal(name(r, '/users/'), undefined, 'a parameter takes a non-empty segment');
    const m2 = r.find('GET', 'gw.test', '/orgs/acme/repos/gw/issues', {});
    assert.equal(m2?.route.def.name, 'r1');
    assert.equal(m2?.params.org, 'acme');
    assert.equal(m2?.params.repo, 'gw');
  });

  it('a route with several paths matches each', () => {
    const r = router([{ paths: ['/a', '/b/c'] }]);
    assert.equal(name(r, '/a/1'), 'r0');
    assert.equal(name(r, '/b/c/1'), 'r0');
    assert.equal(name(r, '/b'), undefined);
  });
});

describe('router: hosts, methods, headers', () => {
  it('matches exact hosts case-insensitively and ignores the port', () => {
    const r = router([{ paths: ['/'], hosts: ['api.example.com'] }]);
    assert.equal(name(r, '/', { host: 'api.example.com' }), 'r0');
    assert.equal(name(r, '/', { host: 'API.Example.COM:8080' }), 'r0');
    assert.equal(name(r, '/', { host: 'www.example.com' }), undefined);
    assert.equal(name(r, '/', { host: '' }), undefined);
  });

  it('a host with a port matches only that port', () => {
    const r = router([{ paths: ['/'], hosts: ['api.example.com:8443'] }]);
    assert.equal(name(r, '/', { host: 'api.example.com:8443' }), 'r0');
    assert.equal(name(r, '/', { host: 'API.example.com:8443' }), 'r0');
    assert.equal(name(r, '/', { host: 'api.example.com:80' }), undefined);
  });

  it('matches wildcard hosts on subdomains, not the bare domain nor a lookalike', () => {
    const r = router([{ paths: ['/'], hosts: ['*.example.com'] }]);
    assert.equal(name(r, '/', { host: 'a.example.com' }), 'r0');
    assert.equal(name(r, '/', { host: 'A.b.Example.com:9000' }), 'r0');
    assert.equal(name(r, '/', { host: 'example.com' }), undefined);
    assert.equal(name(r, '/', { host: 'badexample.com' }), undefined);
    assert.equal(name(r, '/', { host: 'a.example.com.evil.net' }), undefined);
  });

  it('a wildcard host with a port matches only that port', () => {
    const r = router([{ paths: ['/'], hosts: ['*.example.com:8443'] }]);
    assert.equal(name(r, '/', { host: 'a.example.com:8443' }), 'r0');
    assert.equal(name(r, '/', { host: 'a.example.com' }), undefined);
  });

  it('matches methods', () => {
    const r = router([{ paths: ['/x'], methods: ['GET', 'POST'] }]);
    assert.equal(name(r, '/x', { method: 'GET' }), 'r0');
    assert.equal(name(r, '/x', { method: 'POST' }), 'r0');
    assert.equal(name(r, '/x', { method: 'DELETE' }), undefined);
  });

  it('matches headers by exact value, header names case-insensitively', () => {
    const r = router([{ paths: ['/x'], headers: { 'X-Version': '2' } }]);
    assert.equal(name(r, '/x', { headers: { 'x-version': '2' } }), 'r0');
    assert.equal(name(r, '/x', { headers: { 'x-version': '3' } }), undefined);
    assert.equal(name(r, '/x'), undefined);
  });
});

describe('router: priority', () => {
  it('the most specific path wins, whatever the config order', () => {
    const r = router([{ paths: ['/'] }, { paths: ['/api'] }, { paths: ['/api/v1'] }]);
    assert.equal(name(r, '/api/v1/users'), 'r2');
    assert.equal(name(r, '/api/v2'), 'r1');
    assert.equal(name(r, '/other'), 'r0');
  });

  it('a static segment wins over a parameter', () => {
    const r = router([{ paths: ['/users/:id'] }, { paths: ['/users/me'] }]);
    assert.equal(name(r, '/users/me'), 'r1');
    assert.equal(name(r, '/users/42'), 'r0');
  });

  it('exact before prefix on the same path', () => {
    const r = router([{ paths: ['/a'] }, { paths: ['/a'], pathMatch: 'exact' }]);
    assert.equal(name(r, '/a'), 'r1');
    assert.equal(name(r, '/a/b'), 'r0');
  });

  it('routes with hosts before routes without; exact hosts before wildcards', () => {
    const r = router([
      { paths: ['/'] },
      { paths: ['/'], hosts: ['*.example.com'] },
      { paths: ['/'], hosts: ['api.example.com'] },
    ]);
    assert.equal(name(r, '/', { host: 'api.example.com' }), 'r2');
    assert.equal(name(r, '/', { host: 'www.example.com' }), 'r1');
    assert.equal(name(r, '/', { host: 'other.net' }), 'r0');
  });

  it('routes with more headers first, then routes with methods', () => {
    const r = router([
      { paths: ['/'] },
      { paths: ['/'], methods: ['GET'] },
      { paths: ['/'], headers: { a: '1' } },
      { paths: ['/'], headers: { a: '1', b: '2' } },
    ]);
    assert.equal(name(r, '/', { headers: { a: '1', b: '2' } }), 'r3');
    assert.equal(name(r, '/', { headers: { a: '1' } }), 'r2');
    assert.equal(name(r, '/'), 'r1');
    assert.equal(name(r, '/', { method: 'POST' }), 'r0');
  });

  it('then higher priority, then config order', () => {
    const r = router([{ paths: ['/'] }, { paths: ['/'], priority: 5 }, { paths: ['/'], priority: 5 }]);
    assert.equal(name(r, '/'), 'r1');
    const r2 = router([{ paths: ['/'] }, { paths: ['/'] }]);
    assert.equal(name(r2, '/'), 'r0');
  });

  it('a more specific path beats hosts on a less specific one', () => {
    const r = router([{ paths: ['/'], hosts: ['api.example.com'] }, { paths: ['/a'] }]);
    assert.equal(name(r, '/a', { host: 'api.example.com' }), 'r1');
    assert.equal(name(r, '/b', { host: 'api.example.com' }), 'r0');
  });

  it('falls back to prefix routes on ancestor paths when the most specific does not accept', () => {
    const r = router([
      { paths: ['/'] },
      { paths: ['/api'], methods: ['GET'] },
      { paths: ['/api/v1'], pathMatch: 'exact', methods: ['POST'] },
    ]);
    assert.equal(name(r, '/api/v1', { method: 'POST' }), 'r2');
    assert.equal(name(r, '/api/v1', { method: 'GET' }), 'r1');
    assert.equal(name(r, '/api/v1', { method: 'PUT' }), 'r0');
    assert.equal(name(r, '/api/v1/x', { method: 'GET' }), 'r1');
  });

  it('falls back to a parameter route when the static sibling does not accept', () => {
    const r = router([{ paths: ['/users/:id'] }, { paths: ['/users/me'], methods: ['GET'] }]);
    assert.equal(name(r, '/users/me', { method: 'GET' }), 'r1');
    const m = r.find('DELETE', 'gw.test', '/users/me', {});
    assert.equal(m?.route.def.name, 'r0');
    assert.equal(m?.params.id, 'me');
  });

  it('does not fall back to exact routes on ancestors', () => {
    const r = router([{ paths: ['/a'], pathMatch: 'exact' }]);
    assert.equal(name(r, '/a/b'), undefined);
  });
});

describe('router: stripPath', () => {
  it('removes the matched prefix, keeping the rest', () => {
    const r = router([{ paths: ['/api/v1'] }, { paths: ['/users/:id'] }, { paths: ['/'] }]);
    assert.equal(r.find('GET', 'h', '/api/v1', {})?.strippedPath, '/');
    assert.equal(r.find('GET', 'h', '/api/v1/', {})?.strippedPath, '/');
    assert.equal(r.find('GET', 'h', '/api/v1/a/b', {})?.strippedPath, '/a/b');
    assert.equal(r.find('GET', 'h', '/users/7/posts', {})?.strippedPath, '/posts');
    assert.equal(r.find('GET', 'h', '/x/y', {})?.strippedPath, '/x/y');
  });
});

describe('router: pattern spellings', () => {
  it('routes on one path spelt with different parameter names, each with its own names', () => {
    const r = router([
      { paths: ['/users/:id'], methods: ['GET'] },
      { paths: ['/users/:uid'], methods: ['DELETE'] },
    ]);
    const g = r.find('GET', 'h', '/users/7/x', {});
    assert.equal(g?.route.def.name, 'r0');
    assert.equal(g?.params.id, '7');
    const d = r.find('DELETE', 'h', '/users/7', {});
    assert.equal(d?.route.def.name, 'r1');
    assert.equal(d?.params.uid, '7');
    assert.equal(d?.params.id, undefined);
  });

  it('refuses a path the radix tree cannot hold, naming it', () => {
    assert.throws(
      () => router([{ paths: ['/ok'] }, { paths: ['/a', '/x/*'] }]),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.issues.length, 1);
        assert.equal(err.issues[0].path, '/routes/1/paths/1');
        assert.match(err.issues[0].message, /^invalid path: /);
        return true;
      },
    );
  });
});

describe('router: agrees with a brute-force reference', () => {
  /** Deterministic PRNG (mulberry32). */
  function prng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const kindOf = (s: string) => (s === '*' ? 0 : s.startsWith(':') ? 1 : 2);
  function moreSpecific(a: string[], b: string[]): number {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = kindOf(a[i]) - kindOf(b[i]);
      if (d) return d;
    }
    return a.length - b.length;
  }

  it('on 300 random route tables', () => {
    const rnd = prng(42);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    for (let table = 0; table < 300; table++) {
      const defs: Partial<RouteConfig>[] = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 6); i < n; i++) {
        const segs = Array.from({ length: Math.floor(rnd() * 4) }, () => pick(['a', 'b', ':p']));
        defs.push({
          paths: [`/${segs.join('/')}`],
          pathMatch: rnd() < 0.5 ? 'exact' : 'prefix',
          methods: rnd() < 0.5 ? [pick(['GET', 'POST'])] : undefined,
          priority: Math.floor(rnd() * 2),
        });
      }
      const r = router(defs);
      for (let q = 0; q < 20; q++) {
        const segs = Array.from({ length: Math.floor(rnd() * 5) }, () => pick(['a', 'b', 'c']));
        const path = `/${segs.join('/')}`;
        const method = pick(['GET', 'POST']);
        // Reference: every route whose pattern matches, most specific pattern first, then rank.
        const matching = defs
          .map((d, index) => {
            const pat = d.paths![0] === '/' ? [] : d.paths![0].slice(1).split('/');
            const fits = (i: number) => pat[i].startsWith(':') || pat[i] === segs[i];
            if (pat.length > segs.length || !pat.every((_, i) => fits(i))) return undefined;
            if (pat.length < segs.length && d.pathMatch === 'exact') return undefined;
            const eff = pat.length < segs.length ? [...pat, '*'] : pat;
            return { index, d, eff };
          })
          .filter((m) => m !== undefined)
          .sort(
            (x, y) =>
              moreSpecific(y.eff, x.eff) ||
              (y.d.pathMatch === 'exact' ? 1 : 0) - (x.d.pathMatch === 'exact' ? 1 : 0) ||
              (y.d.methods ? 1 : 0) - (x.d.methods ? 1 : 0) ||
              (y.d.priority ?? 0) - (x.d.priority ?? 0) ||
              x.index - y.index,
          );
        const want = matching.find((m) => !m.d.methods || m.d.methods.includes(method));
        const got = r.find(method, 'h', path, {});
        assert.equal(
          got?.route.def.name,
          want ? `r${want.index}` : undefined,
          `${method} ${path} on ${JSON.stringify(defs)}`,
        );
      }
    }
  });
});

describe('route table: case-insensitive routes', () => {
  function table(defs: (Partial<RouteConfig> & { ci?: boolean })[]) {
    const routes = defs.map(({ ci, ...d }, index) => ({
      index,
      pathOptions: { caseInsensitive: ci ?? false },
      def: {
        name: `r${index}`,
        service: 's',
        paths: ['/'],
        pathMatch: 'prefix',
        priority: 0,
        stripPath: false,
        preserveHost: false,
        lifecycle: 'active',
        ...d,
      } as RouteConfig,
    }));
    const t = RouteTable.of(routes);
    return (path: string, method = 'GET') => t.find(method, 'gw.test', path, {})?.route.def.name;
  }

  it('a case-insensitive route wins over a less specific catch-all in any case', () => {
    const find = table([{ paths: ['/admin'], ci: true }, { paths: ['/'] }]);
    for (const p of ['/admin', '/ADMIN', '/Admin/x', '/aDmIn/']) assert.equal(find(p), 'r0', p);
    assert.equal(find('/adminx'), 'r1');
    assert.equal(find('/other'), 'r1');
  });

  it('case-sensitive routes still match exactly; the more specific pattern wins', () => {
    const find = table([{ paths: ['/admin'], ci: true }, { paths: ['/ADMIN/special'] }, { paths: ['/'] }]);
    assert.equal(find('/ADMIN/special'), 'r1');
    assert.equal(find('/admin/SPECIAL'), 'r0');
    assert.equal(find('/Admin/other'), 'r0');
  });

  it('keeps params in the request case and falls back as usual on methods', () => {
    const routes = [
      {
        index: 0,
        pathOptions: { caseInsensitive: true },
        def: {
          name: 'u',
          paths: ['/users/:id'],
          methods: ['GET'],
          pathMatch: 'exact',
          priority: 0,
        } as RouteConfig,
      },
      {
        index: 1,
        pathOptions: { caseInsensitive: false },
        def: { name: 'all', paths: ['/'], pathMatch: 'prefix', priority: 0 } as RouteConfig,
      },
    ];
    const t = RouteTable.of(routes);
    const m = t.find('GET', 'gw.test', '/USERS/AbC', {});
    assert.equal(m?.route.def.name, 'u');
    assert.equal(m?.params.id, 'AbC');
    assert.equal(t.find('POST', 'gw.test', '/USERS/AbC', {})?.route.def.name, 'all');
  });
});
