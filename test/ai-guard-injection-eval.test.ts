import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { scoreInjection } from '../src/ai/guards/injection.js';

/**
 * Precision and recall of the prompt-injection heuristics (default threshold 1) on the labelled
 * set test/fixtures/prompt-injection.jsonl. Lines without `split` were used to write the rules;
 * `dev2` lines were a blind hold-out first and then used for a second round of rules; `holdout`
 * lines were written after that round and never used for tuning, so they show how the heuristics
 * do on phrasing they were not written for. Run: npm test -- ai-guard-injection-eval
 */
interface Line {
  text: string;
  label: 'injection' | 'benign';
  technique: string;
  split?: 'dev2' | 'holdout';
}

const lines = readFileSync(new URL('./fixtures/prompt-injection.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Line);

function measure(set: Line[]) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  const missed: string[] = [];
  for (const l of set) {
    const hit = scoreInjection(l.text).score >= 1;
    if (hit && l.label === 'injection') tp++;
    else if (hit) {
      fp++;
      missed.push(`false positive: ${l.text.slice(0, 70)}`);
    } else if (l.label === 'injection') {
      fn++;
      missed.push(`missed ${l.technique}: ${l.text.slice(0, 70).replace(/\n/g, ' ')}`);
    } else tn++;
  }
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  return { n: set.length, tp, fp, fn, tn, precision, recall, missed };
}

it('reports precision and recall on the labelled prompt-injection set', (t) => {
  assert.ok(lines.length >= 150);
  const dev = measure(lines.filter((l) => l.split !== 'holdout'));
  const holdout = measure(lines.filter((l) => l.split === 'holdout'));
  const all = measure(lines);
  for (const [name, m] of Object.entries({ dev, holdout, all }))
    t.diagnostic(
      `${name}: n=${m.n} tp=${m.tp} fp=${m.fp} fn=${m.fn} tn=${m.tn} precision=${m.precision.toFixed(3)} recall=${m.recall.toFixed(3)}`,
    );
  for (const s of holdout.missed) t.diagnostic(`holdout ${s}`);
  // Recall by technique, over every injection line.
  const techniques = new Map<string, [number, number]>();
  for (const l of lines.filter((x) => x.label === 'injection')) {
    const [hit, n] = techniques.get(l.technique) ?? [0, 0];
    techniques.set(l.technique, [hit + (scoreInjection(l.text).score >= 1 ? 1 : 0), n + 1]);
  }
  t.diagnostic(
    `recall by technique: ${[...techniques].map(([k, [hit, n]]) => `${k} ${hit}/${n}`).join(', ')}`,
  );
  // Floors, so a rule change that makes things worse fails here.
  assert.ok(dev.precision >= 0.95 && dev.recall >= 0.9, JSON.stringify(dev));
  assert.ok(holdout.precision >= 0.9, JSON.stringify(holdout));
});
