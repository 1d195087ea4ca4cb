#!/usr/bin/env node
// Run by `npm run build` after tsc: makes the `portcullis` bin (package.json "bin") executable.
// tsc writes files 0644, and a bin without its x bit fails as `Permission denied` wherever it is
// run directly (`npx portcullis`, `./dist/cli/main.js`, a symlink in node_modules/.bin).
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin)) {
  const path = join(root, file);
  if (!readFileSync(path, 'utf8').startsWith('#!/usr/bin/env node\n')) {
    console.error(`${file}: the bin must start with "#!/usr/bin/env node"`);
    process.exit(1);
  }
  chmodSync(path, statSync(path).mode | 0o755);
}
