/**
 * Layers of src/, highest first: a folder may import its own layer and the layers below it, never
 * one above. The same order is drawn in docs/architecture.md; keep the two together.
 *
 * Only runtime imports count (`tsPreCompilationDeps: false`): `import type` and `{ type X }`-only
 * imports are erased by tsc and cannot create a load-order cycle, so they may point anywhere.
 *
 * Run: npx depcruise --config .dependency-cruiser.cjs src   (npm run lint)
 */
const fs = require('node:fs');
const path = require('node:path');

// Without typescript beside it, dependency-cruiser reads no .ts file and reports "no violations
// (0 modules)": a silent pass. Refuse to run instead. (A bare `npx dependency-cruiser` hits this.)
try {
  require.resolve('typescript', { paths: [path.dirname(fs.realpathSync(process.argv[1]))] });
} catch {
  throw new Error(
    'dependency-cruiser cannot load typescript: run it from devDependencies (npm run lint), not a bare npx',
  );
}

const LAYERS = [
  { name: 'faces', folders: ['cli', 'admin'], root: true }, // + src/gateway.ts, src/index.ts
  { name: 'lifecycle', folders: ['approvals', 'replay'] },
  { name: 'runtime', folders: ['runtime'] },
  { name: 'terminals', folders: ['proxy', 'ai'] },
  { name: 'policies', folders: ['policies', 'auth'] },
  { name: 'canary', folders: ['canary'] },
  { name: 'config', folders: ['config'] },
  { name: 'core', folders: ['core'] },
  { name: 'stores', folders: ['store', 'counters', 'reqlog'] },
  {
    name: 'libraries',
    folders: ['lib', 'net', 'waf', 'openapi', 'observability', 'tls', 'regex', 'demo'],
  },
];

/**
 * The AI pieces AI policies build on: the per-call state, token counting, the guards and the wire
 * shapes. They import nothing else from ai/, so policies may use them although ai/ (the terminal)
 * sits above policies. Candidates for their own folder below policies.
 */
const AI_POLICY_SURFACE = '^src/ai/(call-state|tokens)\\.ts$|^src/ai/(guards|protocols)/';

const inFolders = (folders) => `^src/(${folders.join('|')})/`;
const ROOT = '^src/[^/]+\\.ts$';

const layerRules = LAYERS.slice(1).map((layer, i) => {
  const above = LAYERS.slice(0, i + 1);
  const folders = above.flatMap((l) => l.folders);
  return {
    name: `layer-${layer.name}`,
    comment: `${layer.folders.join(', ')} must not import a layer above it (${above.map((l) => l.name).join(', ')})`,
    severity: 'error',
    from: { path: inFolders(layer.folders) },
    to: {
      path: `${inFolders(folders)}|${ROOT}`,
      ...(layer.name === 'policies' ? { pathNot: AI_POLICY_SURFACE } : {}),
    },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No runtime import cycle between modules.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'No runtime import cycle between the folders of src/ (same-layer folders included).',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'policies-not-to-faces-or-terminals',
      comment:
        'A policy runs inside the pipeline: it must not reach into proxy, admin, cli or runtime (stated on its own so the reason survives changes to the layer list).',
      severity: 'error',
      from: { path: '^src/policies/' },
      to: { path: '^src/(proxy|admin|cli|runtime)/' },
    },
    {
      name: 'ai-policy-surface-stays-low',
      comment:
        'The AI modules policies may import must not import the rest of ai/ (the terminal), or policies would import it through them.',
      severity: 'error',
      from: { path: AI_POLICY_SURFACE },
      to: { path: '^src/ai/', pathNot: AI_POLICY_SURFACE },
    },
    {
      name: 'libraries-import-no-gateway-folder',
      comment:
        'Libraries (lib, net, waf, openapi, observability, tls, regex, demo) depend on nothing of the gateway but other libraries.',
      severity: 'error',
      from: { path: inFolders(LAYERS.at(-1).folders) },
      to: { path: '^src/', pathNot: inFolders(LAYERS.at(-1).folders) },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
