import type { CompiledRevision, CompiledRoute } from '../runtime/compile.js';
import type { ErrorCode } from '../core/errors.js';
import { CANONICAL, needsNormalizing, normalizePath, PathRefusal } from './path.js';
import type { RouteMatch } from './router.js';

export type PathRoute =
  | { match: RouteMatch<CompiledRoute>; path: string; code?: undefined }
  | { code: ErrorCode; detail?: string; match?: undefined };

/**
 * Routes a request path, giving the route and the exact path to forward; routing is done on that
 * path. An ordinary path (the hot path) is one scan and one lookup. Otherwise the path is first
 * read as the most lenient upstream would read it (CANONICAL: `%2F` and `\` are slashes,
 * parameters and trailing dots dropped) to find the route whose policies must apply; then that
 * route's own options give the path to forward, which must route to the same route, or the
 * request is refused: no spelling reaches a route other than the one an upstream would serve.
 */
export function routePath(
  rev: CompiledRevision,
  method: string,
  host: string,
  raw: string,
  headers: Record<string, string | string[] | undefined>,
): PathRoute {
  if (!needsNormalizing(raw)) {
    const match = rev.router.find(method, host, raw, headers);
    return match ? { match, path: raw } : { code: 'PCS_ERR_ROUTE_NOT_FOUND' };
  }
  const canonical = normalizePath(raw, CANONICAL);
  if (canonical instanceof PathRefusal) return refused(canonical);
  const match = rev.router.find(method, host, canonical, headers);
  if (!match) {
    // Refused by the gateway's own options beats "no route": the client learns the path is bad.
    const own = normalizePath(raw, rev.pathOptions);
    return own instanceof PathRefusal ? refused(own) : { code: 'PCS_ERR_ROUTE_NOT_FOUND' };
  }
  const path = normalizePath(raw, match.route.pathOptions);
  if (path instanceof PathRefusal) return refused(path);
  if (path === canonical) return { match, path };
  const again = rev.router.find(method, host, path, headers);
  if (again?.route !== match.route)
    return { code: 'PCS_ERR_PATH_REJECTED', detail: `path reads as another route: ${match.route.def.name}` };
  return { match: again, path };
}

function refused(r: PathRefusal): PathRoute {
  return { code: 'PCS_ERR_PATH_REJECTED', detail: r.reason };
}
