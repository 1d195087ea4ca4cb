// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
// and self time grouped by where the code lives (Portcullis, a package, Node core, native).
// Percentages are of busy time (idle excluded). Usage: node bench/profile-top.mjs FILE [N]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function summarizeProfile(file, n = 20) {
  let profile;
  try {
    profile = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return `  (no profile: ${err.message})`;
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const fns = new Map();
  const groups = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id);
    if (functionName === '(idle)') {
      idle += dt;
      return;
    }
    busy += dt;
    const where = shortUrl(url);
    add(fns, `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`, dt);
    add(groups, group(functionName, where), dt);
  });
  const fmt = ([k, us]) =>
    `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`;
  const top = (m, k) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(fmt);
  return [
    `  busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s; self time by function:`,
    ...top(fns, n),
    '  self time by origin:',
    ...top(groups, 12),
  ].join('\n');
}

function shortUrl(url) {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = path.lastIndexOf('/node_modules/');
  if (i >= 0) return path.slice(i + 1);
  const d = path.lastIndexOf('/dist/');
  return d >= 0 ? path.slice(d + 1) : path;
}

function group(fn, where) {
  if (!where) return fn === '(garbage collector)' ? 'gc' : 'native (syscalls, V8 builtins)';
  if (where.startsWith('node_modules/'))
    return where
      .split('/')
      .slice(0, where[13] === '@' ? 3 : 2)
      .join('/');
  if (where.startsWith('node:')) return 'node core (http, streams, events)';
  if (where.startsWith('dist/')) return `portcullis ${where.split('/').slice(1, -1).join('/') || '.'}`;
  return where;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  console.log(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 30)));
