import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateDocs, ROOT, slug } from '../scripts/gen-docs.js';
import { ERRORS } from '../src/core/errors.js';

const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

function markdownFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) markdownFiles(rel, out);
    else if (e.name.endsWith('.md')) out.push(rel);
  }
  return out;
}

/** The anchors GitHub makes for a markdown file's headings (code fences skipped). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

describe('docs', () => {
  let docs: Map<string, string>;
  before(async () => {
    docs = await generateDocs();
  });

  it('generated docs match the code (run `npm run docs` when this fails)', () => {
    const stale = [...docs].filter(([rel, text]) => !existsSync(join(ROOT, rel)) || read(rel) !== text);
    assert.deepEqual(
      stale.map(([rel]) => rel),
      [],
      `stale generated docs: ${stale.map(([rel]) => rel).join(', ')}. Run \`npm run docs\` and commit the result.`,
    );
  });

  it('generation is deterministic', async () => {
    assert.deepEqual([...(await generateDocs())], [...docs]);
  });

  it('docs/errors.md names every PCS_ERR_* code of src/core/errors.ts', () => {
    const source = read('src/core/errors.ts');
    const codes = new Set([...(source.match(/PCS_ERR_[A-Z0-9_]+/g) ?? []), ...Object.keys(ERRORS)]);
    const page = read('docs/errors.md');
    const missing = [...codes].filter((c) => !page.includes(`### ${c}\n`));
    assert.deepEqual(missing, [], `missing from docs/errors.md: ${missing.join(', ')}; run \`npm run docs\``);
  });

  it('every relative link in README.md and docs/ points at an existing file and heading', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...markdownFiles('docs')]) {
      const text = read(file);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1];
        // README.md also links other areas' files (bench/); its links into docs/ are ours.
        if (/^[a-z]+:/i.test(link) || (file === 'README.md' && !link.startsWith('docs/'))) continue;
        const [path, hash] = link.split('#');
        const target = path ? join(dirname(file), path) : file;
        if (!existsSync(join(ROOT, target))) {
          broken.push(`${file}: ${link} (no file ${relative('.', target)})`);
          continue;
        }
        if (hash && target.endsWith('.md') && !anchors(read(target)).has(hash))
          broken.push(`${file}: ${link} (no heading #${hash})`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
