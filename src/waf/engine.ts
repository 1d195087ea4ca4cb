import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';
import {
  formTargets,
  headerTargets,
  jsonTargets,
  multipartTargets,
  type Target,
  xmlTargets,
} from './extract.js';
import { type Gate, GateIndex, gateOf } from './gate.js';
import { pathForm, simpleForm, variants } from './normalize.js';
import { BUILTIN_RULES, type Location, PROTOCOL_RULES, type RuleDef } from './rules.js';
import { compilePattern, RegexError } from '../regex/pattern.js';
import { findInternalUrl } from './ssrf.js';

export interface Exclusion {
  /** Rule ids or categories; absent: every rule. */
  rules?: string[];
  /** `location:name` (`query:q`, `body:user.bio`, `header:user-agent`), or a bare location. */
  targets?: string[];
}

export interface EngineOptions {
  paranoia: number;
  threshold: number;
  userRules: RuleDef[];
  disabledRules: string[];
  exclusions: Exclusion[];
  inspectBody: boolean;
  maxDecompressedBytes: number;
}

export interface Match {
  id: string;
  category: string;
  score: number;
  location: string;
  name: string;
}

export interface Verdict {
  score: number;
  matches: Match[];
}

interface CompiledRule {
  def: RuleDef;
  /** Built-in rules on V8's RegExp (ours, vetted by test/waf-builtin-linear.test.ts); user rules on RE2. */
  re?: { test(s: string): boolean };
  targets?: Set<Location>;
  headers?: Set<string>;
  /** Can match a value made only of letters, digits, spaces and `.,_@-`. */
  plain: boolean;
  /** Characters or strings a value must hold for the pattern to match (see gate.ts). */
  gate?: Gate;
}

export interface RequestParts {
  method: string;
  path: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const PLAIN = /^[a-z0-9 _.,@\-\u00c0-\uffff]*$/i;
const PLAIN_SAMPLE = [
  'union all select id from users',
  'select name from users',
  'sqlmap nikto nuclei openvas',
  'burpcollaborator.net oast.me interact.sh',
];

/** A refusal when the config cannot compile, with a path per problem. */
export class WafConfigError extends Error {}

/** A user's rule pattern on the linear-time engine, or a config error naming it. */
function userPattern(source: string, where: string): CompiledRule['re'] {
  try {
    return compilePattern(source, 'i');
  } catch (e) {
    if (e instanceof RegexError) throw new WafConfigError(`${where}/pattern: ${e.message}`);
    throw e;
  }
}

export function compileRules(opts: EngineOptions): CompiledRule[] {
  const disabled = new Set(opts.disabledRules);
  const out: CompiledRule[] = [];
  const ids = new Set<string>();
  for (const [i, def] of [...BUILTIN_RULES, ...opts.userRules].entries()) {
    const user = i >= BUILTIN_RULES.length;
    const where = user ? `rules/${i - BUILTIN_RULES.length}` : `builtin ${def.id}`;
    if (ids.has(def.id)) throw new WafConfigError(`${where}: duplicate rule id '${def.id}'`);
    ids.add(def.id);
    if (def.paranoia > opts.paranoia || disabled.has(def.id) || disabled.has(def.category)) continue;
    let re: CompiledRule['re'];
    if (def.pattern !== undefined) {
      re = user ? userPattern(def.pattern, where) : new RegExp(def.pattern, 'i');
    } else if (def.op !== 'ssrf-host') throw new WafConfigError(`${where}: needs a pattern`);
    const plain = re ? PLAIN_SAMPLE.some((s) => re.test(s)) || user : false;
    out.push({
      def,
      re,
      targets: def.targets ? new Set(def.targets) : undefined,
      headers: def.headers ? new Set(def.headers) : undefined,
      plain,
      gate: def.pattern !== undefined ? gateOf(def.pattern) : undefined,
    });
  }
  return out;
}

const LOCATIONS: readonly Location[] = ['path', 'query', 'header', 'cookie', 'body', 'name'];

/** The rules that apply to one kind of place: all of them, and those that can match plain text. */
interface RuleGroup {
  all: readonly CompiledRule[];
  plain: readonly CompiledRule[];
  allGates: GateIndex;
  plainGates: GateIndex;
}

/** One distinct value of a request: its forms, and the rules it matched per group inspected. */
interface Seen {
  forms: string[];
  allPlain: boolean;
  groups: RuleGroup[];
  matched: (readonly CompiledRule[])[];
}

/** Per-request memo of values, by form encoding (`+` as space or not). */
interface Memo {
  raw?: Map<string, Seen>;
  plus?: Map<string, Seen>;
}

const NO_RULES: readonly CompiledRule[] = [];

function ruleGroup(all: CompiledRule[]): RuleGroup {
  const plain = all.filter((r) => r.plain);
  return {
    all,
    plain,
    allGates: new GateIndex(all.map((r) => r.gate)),
    plainGates: new GateIndex(plain.map((r) => r.gate)),
  };
}

/** The WAF engine of one revision: rules compiled once, `inspect` per request. */
export class WafEngine {
  private readonly rules: CompiledRule[];
  private readonly threshold: number;
  private readonly exclusions: { rules?: Set<string>; targets?: string[] }[];
  /** The rules that apply to each location, and to header names that have rules of their own. */
  private readonly groups = new Map<Location, RuleGroup>();
  private readonly headerGroups = new Map<string, RuleGroup>();

  constructor(private readonly opts: EngineOptions) {
    this.rules = compileRules(opts);
    this.threshold = opts.threshold;
    const groupFor = (location: Location, header?: string) =>
      ruleGroup(
        this.rules.filter(
          (r) =>
            (!r.targets || r.targets.has(location)) &&
            (!r.headers || (location === 'header' && header !== undefined && r.headers.has(header))),
        ),
      );
    for (const l of LOCATIONS) this.groups.set(l, groupFor(l));
    for (const r of this.rules)
      for (const h of r.headers ?? []) this.headerGroups.set(h, groupFor('header', h));
    this.exclusions = opts.exclusions.map((e) => ({
      rules: e.rules ? new Set(e.rules) : undefined,
      targets: e.targets,
    }));
  }

  /** Whether the request carries a body the engine would read. */
  wantsBody(headers: IncomingHttpHeaders): boolean {
    if (!this.opts.inspectBody) return false;
    const len = headers['content-length'];
    return (len !== undefined && len !== '0') || headers['transfer-encoding'] !== undefined;
  }

  inspect(req: RequestParts, body: Buffer | undefined): Verdict {
    const v: Verdict = { score: 0, matches: [] };
    const seen = new Set<string>();
    const hit = (id: string, category: string, score: number, location: string, name: string) => {
      if (seen.has(id) || this.excluded(id, category, location, name)) return;
      seen.add(id);
      v.score += score;
      v.matches.push({ id, category, score, location, name });
    };
    this.protocol(req, body, hit);
    const targets: Target[] = [];
    targets.push({ location: 'path', name: '', value: req.path });
    formTargets(req.rawQuery, 'query', targets);
    // A payload with a raw `&` is split across pairs; the whole query string is seen too.
    if (req.rawQuery.includes('&'))
      targets.push({ location: 'query', name: '*', value: req.rawQuery, plus: true });
    headerTargets(req.headers, targets);
    let decoded = body;
    if (body && body.length > 0) {
      decoded = this.decompress(req.headers, body, hit);
      if (decoded) this.bodyTargets(req.headers, decoded, targets, hit);
    }
    const memo: Memo = {};
    for (const t of targets) {
      if (v.score >= this.threshold) break;
      this.inspectTarget(t, hit, memo, v);
    }
    return v;
  }

  private inspectTarget(
    t: Target,
    hit: (id: string, c: string, s: number, l: string, n: string) => void,
    memo: Memo,
    v: Verdict,
  ): void {
    const group =
      (t.location === 'header' ? this.headerGroups.get(t.name) : undefined) ??
      (this.groups.get(t.location) as RuleGroup);
    const path = t.location === 'path';
    // A simple value (words, numbers, e-mail addresses) has one form and meets plain rules only.
    const simple = path ? undefined : simpleForm(t.value);
    if (simple !== undefined) {
      this.score([simple], group.plain, group.plainGates, t, hit, v);
      return;
    }
    // The same value in the same kind of place scores the same: evaluated once per request.
    let memoMap = t.plus ? memo.plus : memo.raw;
    let f = path ? undefined : memoMap?.get(t.value);
    if (f) {
      const g = f.groups.indexOf(group);
      if (g >= 0) {
        for (const r of f.matched[g] as CompiledRule[])
          hit(r.def.id, r.def.category, r.def.score, t.location, t.name);
        return;
      }
    } else {
      const forms = path
        ? [...variants(t.value.slice(1)), pathForm(t.value).toLowerCase()]
        : variants(t.value, t.plus);
      f = { forms, allPlain: forms.every((x) => PLAIN.test(x)), groups: [], matched: [] };
      if (!path) {
        if (!memoMap) {
          memoMap = new Map();
          if (t.plus) memo.plus = memoMap;
          else memo.raw = memoMap;
        }
        memoMap.set(t.value, f);
      }
    }
    const matched = f.allPlain
      ? this.score(f.forms, group.plain, group.plainGates, t, hit, v)
      : this.score(f.forms, group.all, group.allGates, t, hit, v);
    f.groups.push(group);
    f.matched.push(matched);
  }

  /** Runs the rules on the forms of one value (each rule on the forms its gate lets through). */
  private score(
    forms: string[],
    rules: readonly CompiledRule[],
    gates: GateIndex,
    t: Target,
    hit: (id: string, c: string, s: number, l: string, n: string) => void,
    v: Verdict,
  ): readonly CompiledRule[] {
    const cand = gates.candidates(forms);
    let matched = NO_RULES as CompiledRule[];
    for (let i = 0; i < rules.length; i++) {
      let bits = cand[i] as number;
      if (bits === 0) continue;
      const r = rules[i] as CompiledRule;
      for (let j = 0; bits !== 0; j++, bits >>>= 1) {
        if ((bits & 1) === 0) continue;
        const x = forms[j] as string;
        if (r.re ? r.re.test(x) : findInternalUrl(x) !== undefined) {
          if (matched === NO_RULES) matched = [];
          matched.push(r);
          hit(r.def.id, r.def.category, r.def.score, t.location, t.name);
          break;
        }
      }
      // Enough to block: the rest of this value and of the request cannot change the verdict.
      if (v.score >= this.threshold) break;
    }
    return matched;
  }

  private excluded(id: string, category: string, location: string, name: string): boolean {
    for (const e of this.exclusions) {
      if (e.rules && !e.rules.has(id) && !e.rules.has(category)) continue;
      if (!e.targets) return true;
      for (const t of e.targets) if (t === location || t === `${location}:${name}`) return true;
    }
    return false;
  }

  private protocol(
    req: RequestParts,
    body: Buffer | undefined,
    hit: (id: string, c: string, s: number, l: string, n: string) => void,
  ): void {
    const p = PROTOCOL_RULES;
    if (!METHODS.has(req.method))
      hit(p.method.id, p.method.category, p.method.score, 'method', req.method.slice(0, 20));
    const te = req.headers['transfer-encoding'];
    if (
      te !== undefined &&
      (te.toLowerCase().trim() !== 'chunked' || req.headers['content-length'] !== undefined)
    )
      hit(p.smuggling.id, p.smuggling.category, p.smuggling.score, 'header', 'transfer-encoding');
    const ct = req.headers['content-type'] ?? '';
    if (body && body.length > 0 && /^multipart\//i.test(ct) && !/boundary=/i.test(ct))
      hit(p.multipart.id, p.multipart.category, p.multipart.score, 'header', 'content-type');
  }

  private decompress(
    headers: IncomingHttpHeaders,
    body: Buffer,
    hit: (id: string, c: string, s: number, l: string, n: string) => void,
  ): Buffer | undefined {
    const enc = (headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    if (enc === 'identity' || enc === '') return body;
    const p = PROTOCOL_RULES.encoding;
    const max = { maxOutputLength: this.opts.maxDecompressedBytes };
    try {
      if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body, max);
      if (enc === 'deflate') return inflateSync(body, max);
      if (enc === 'br') return brotliDecompressSync(body, max);
    } catch {
      hit(p.id, p.category, p.score, 'header', 'content-encoding');
      return undefined;
    }
    hit(p.id, p.category, p.score, 'header', 'content-encoding');
    return undefined;
  }

  private bodyTargets(
    headers: IncomingHttpHeaders,
    body: Buffer,
    out: Target[],
    hit: (id: string, c: string, s: number, l: string, n: string) => void,
  ): void {
    const ct = (headers['content-type'] ?? '').toLowerCase();
    const text = body.toString('utf8');
    if (/^multipart\//.test(ct)) {
      if (!multipartTargets(body, headers['content-type'] ?? '', out)) {
        const p = PROTOCOL_RULES.multipart;
        hit(p.id, p.category, p.score, 'body', '');
        out.push({ location: 'body', name: '', value: text });
      }
      return;
    }
    if (ct.includes('x-www-form-urlencoded')) {
      formTargets(text, 'body', out);
      if (text.includes('&')) out.push({ location: 'body', name: '*', value: text, plus: true });
      return;
    }
    if (/[/+]json\b/.test(ct) || (!ct && /^\s*[[{]/.test(text))) {
      try {
        jsonTargets(JSON.parse(text), '', out);
        return;
      } catch {
        // not JSON after all: inspected as text below
      }
    }
    if (/[/+]xml\b/.test(ct) || /^\s*<[?!a-z]/i.test(text)) {
      xmlTargets(text, out);
      return;
    }
    if (text.includes('\ufffd') && !/^text\//.test(ct)) return;
    out.push({ location: 'body', name: '', value: text });
  }
}
