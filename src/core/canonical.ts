/** Moved to src/lib/canonical.ts; re-exported until core/compile.ts (moving to runtime/) imports it from there. */
export { canonicalJson, canonicalJsonSteps, sha256 } from '../lib/canonical.js';
