import type { PolicyConfig } from '../config/schema.js';

/** The text of a policy's scope (`global`, `route:users`, `consumer:alice`) used to key instances. */
export function scopeKey(scope: PolicyConfig['scope']): string {
  if (!scope || scope === 'global') return 'global';
  const [k, v] = Object.entries(scope)[0];
  return `${k}:${v}`;
}
