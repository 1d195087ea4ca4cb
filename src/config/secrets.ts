import { readFileSync } from 'node:fs';
import type { ConfigIssue } from '../core/errors.js';
import { runSync, type Steps } from '../core/slices.js';

const REF = /\$\{(env|file|vault):([^}]+)\}/g;

export interface SecretEnv {
  env: Record<string, string | undefined>;
  readFile(path: string): string;
}

export const processSecretEnv: SecretEnv = {
  env: process.env,
  readFile: (p) => readFileSync(p, 'utf8'),
};

interface Resolved {
  value: unknown;
  secrets: Set<string>;
  issues: ConfigIssue[];
}

/**
 * Resolves `${env:NAME}` and `${file:PATH}` references anywhere in a config tree. Returns a new
 * tree (the input, which is what revisions store, keeps its references) and the set of resolved
 * values, so they can be redacted wherever text is printed. A missing secret is a config issue.
 */
export function resolveSecrets(tree: unknown, senv: SecretEnv = processSecretEnv): Resolved {
  return runSync(resolveSecretsSteps(tree, senv));
}

/** `resolveSecrets` with a step per element of the top-level lists (src/core/slices.ts). */
export function* resolveSecretsSteps(tree: unknown, senv: SecretEnv = processSecretEnv): Steps<Resolved> {
  const secrets = new Set<string>();
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      return v.replace(REF, (_m, kind: string, ref: string) => {
        const got = lookup(kind, ref.trim(), senv);
        if (got.error) {
          issues.push({ path, message: got.error });
          return '';
        }
        if (got.value) secrets.add(got.value);
        return got.value ?? '';
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}/${i}`));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, `${path}/${k}`);
      return out;
    }
    return v;
  };
  if (!tree || typeof tree !== 'object' || Array.isArray(tree))
    return { value: walk(tree, ''), secrets, issues };
  const value: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(tree)) {
    if (!Array.isArray(x)) {
      value[k] = walk(x, `/${k}`);
      continue;
    }
    const list: unknown[] = [];
    for (let i = 0; i < x.length; i++) {
      list.push(walk(x[i], `/${k}/${i}`));
      yield;
    }
    value[k] = list;
  }
  return { value, secrets, issues };
}

function lookup(kind: string, ref: string, senv: SecretEnv): { value?: string; error?: string } {
  if (kind === 'env') {
    const v = senv.env[ref];
    return v === undefined
      ? { error: `secret reference \${env:${ref}}: environment variable is not set` }
      : { value: v };
  }
  if (kind === 'file') {
    try {
      return { value: senv.readFile(ref).replace(/\r?\n$/, '') };
    } catch (err) {
      return {
        error: `secret reference \${file:${ref}}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
  }
  return { error: `secret reference \${${kind}:${ref}}: ${kind} references are not supported yet` };
}

/** Replaces every resolved secret value in a text with [REDACTED]. */
export function redact(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}
