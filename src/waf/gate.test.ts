import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WafEngine } from './engine.js';
import { GateIndex, gateOf } from './gate.js';
import { simpleForm, variants } from './normalize.js';
import { BUILTIN_RULES } from './rules.js';

const chars = (g: ReturnType<typeof gateOf>) => {
  let out = '';
  if (g)
    for (let c = 0; c < 128; c++)
      if ((g.mask[c >> 5] as number) & (1 << (c & 31))) out += String.fromCharCode(c);
  return out;
};

describe('waf gates: derived from the pattern', () => {
  it('takes the most selective part every match passes through', () => {
    assert.deepEqual(gateOf('\\bunion\\s+select\\b')?.strings, ['union']);
    assert.equal(chars(gateOf('[\'"]\\s*or\\s+1')), '"\'');
    assert.deepEqual(gateOf('<!ENTITY\\b')?.strings, ['<!entity'], 'lower-cased, as values are');
    const alt = gateOf('\\$\\{jndi:|<script');
    assert.deepEqual(alt?.strings.sort(), ['${jndi:', '<script']);
  });
  it('has no gate when some match needs nothing selective', () => {
    assert.equal(gateOf('a?b*'), undefined);
    assert.equal(gateOf('union|\\w+'), undefined, 'one branch without a requirement');
    assert.equal(gateOf('(?=;)x'), undefined, 'lookarounds are not used');
    assert.equal(gateOf('[é;]x'), undefined, 'a class with a non-ASCII character');
    assert.equal(gateOf('(unclosed'), undefined);
  });
});

/** Deterministic pseudo-random numbers (no Math.random in tests). */
function prng(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

describe('waf gates: sound', () => {
  const rules = BUILTIN_RULES.filter((r) => r.pattern).map((r) => ({
    id: r.id,
    re: new RegExp(r.pattern as string, 'i'),
  }));
  const index = new GateIndex(BUILTIN_RULES.filter((r) => r.pattern).map((r) => gateOf(r.pattern as string)));
  // Pieces of attacks and of ordinary text, glued at random: many strings match some rule.
  const pieces = [
    ...new Set(
      BUILTIN_RULES.flatMap((r) => gateOf(r.pattern ?? '')?.strings ?? []).concat(
        ...`' " ; | & ( ) < > = : / \\ $ { } [ ] \` # * - . , @ ! % ~ ? + \n \r`.split(' '),
        'union select',
        ' or 1=1',
        'select a from b',
        "' or '1'='1",
        '<svg onload=',
        'alert(1)',
        'javascript:',
        '../',
        '/etc/passwd',
        ';cat ',
        '| id',
        '$(whoami)',
        '${jndi:ldap://x}',
        '{{7*7}}',
        '$where',
        '{"$ne":1}',
        '\r\nset-cookie: a',
        'http://127.0.0.1/',
        'hello',
        ' the ',
        'text',
        '42',
        'é',
      ),
    ),
  ];
  it('never hides a rule from a value it matches', () => {
    const rnd = prng(7);
    let matches = 0;
    for (let n = 0; n < 20000; n++) {
      let s = '';
      const k = 1 + Math.floor(rnd() * 6);
      for (let i = 0; i < k; i++) s += pieces[Math.floor(rnd() * pieces.length)];
      const forms = [s.toLowerCase()];
      const cand = index.candidates(forms);
      rules.forEach((r, i) => {
        if (!r.re.test(forms[0] as string)) return;
        matches++;
        assert.ok((cand[i] as number) & 1, `rule ${r.id} gated away from ${JSON.stringify(forms[0])}`);
      });
    }
    assert.ok(matches > 5000, `enough matching samples (${matches})`);
  });
});

describe('waf: shortcuts keep the verdict', () => {
  it('a simple value has the one form variants gives it', () => {
    for (const v of ['customer', 'Dublin', 'D02 X285', 'siobhan.obrien@example.com', 'SPRING-24', 'a  b'])
      if (simpleForm(v) !== undefined) assert.deepEqual([simpleForm(v)], variants(v), v);
    assert.equal(simpleForm('a  b'), undefined, 'a run of spaces is folded by variants');
    assert.equal(simpleForm('c2VsZWN0IHBhc3N3b3Jk'), undefined, 'base64 text is decoded by variants');
  });
  it('a value seen twice is scored at each place, exclusions per place', () => {
    const e = new WafEngine({
      paranoia: 1,
      threshold: 5,
      userRules: [],
      disabledRules: [],
      exclusions: [{ rules: ['xss'], targets: ['body:html'] }],
      inspectBody: true,
      maxDecompressedBytes: 1 << 20,
    });
    const x = '<script>alert(1)</script>';
    const inspect = (body: unknown) => {
      const buf = Buffer.from(JSON.stringify(body));
      return e.inspect(
        {
          method: 'POST',
          path: '/',
          rawQuery: '',
          headers: { 'content-type': 'application/json', 'content-length': String(buf.length) },
        },
        buf,
      );
    };
    assert.equal(inspect({ html: x }).score, 0);
    const both = inspect({ html: x, bio: x });
    assert.ok(both.score >= 5);
    assert.ok(both.matches.every((m) => m.name === 'bio'));
  });
});
