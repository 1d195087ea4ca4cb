/**
 * Prompt-injection heuristics. The text is normalised (Unicode NFKC, zero-width characters
 * removed, lower case, leetspeak and spaced-out letters folded), encoded segments (base64, hex,
 * percent-encoding) are decoded and scanned too, and each rule that matches adds its weight to a
 * score; the policy blocks at its threshold. Rules are built in and fixed: they are written with
 * bounded gaps so a scan stays linear in the text.
 */
export interface InjectionRule {
  id: string;
  /** What the rule looks for, for docs and logs. */
  technique: 'override' | 'jailbreak' | 'exfiltration' | 'delimiter' | 'encoded' | 'authority' | 'custom';
  weight: number;
  re: { test(text: string): boolean };
}

// A short gap inside one sentence: up to `n` characters without a full stop or new line.
const gap = (n: number) => `[^.!?\\n]{0,${n}}`;

const R = (
  id: string,
  technique: InjectionRule['technique'],
  weight: number,
  source: string,
): InjectionRule => ({
  id,
  technique,
  weight,
  re: new RegExp(source),
});

const PRIOR =
  '(?:previous|prior|above|earlier|preceding|initial|original|foregoing|all|any|your|system|developer|existing|safety)';
const RULES_NOUN =
  '(?:instructions?|rules|directions|prompts?|guidelines|constraints|programming|guardrails|polic(?:y|ies)|restrictions|directives|commands|context|training)';

export const INJECTION_RULES: readonly InjectionRule[] = [
  R(
    'override.ignore-instructions',
    'override',
    1,
    `\\b(?:ignore|disregard|forget|skip|override|bypass|discard|drop|abandon|neglect|set aside|throw out|ditch|scrap|overlook|pay no attention to|dismiss|erase|wipe|delete|cancel|void|nullify|abandon)\\b${gap(30)}\\b${PRIOR}\\b${gap(30)}\\b${RULES_NOUN}\\b`,
  ),
  R(
    'override.ignore-above',
    'override',
    1,
    '\\b(?:ignore|disregard|forget)\\b (?:all of |everything |all |what(?:ever)? (?:is|was|you were told) )?(?:the |that )?(?:above|before this|said before|you were told)\\b',
  ),
  R(
    'override.ignore-what-told',
    'override',
    1,
    "\\b(?:ignore|disregard|forget|scrap|overlook)\\b (?:what(?:ever)?|anything|everything) (?:the )?(?:system|developer|operator|they|you(?:'ve| have)? (?:been|were)|your (?:creators?|developers?|makers?|owners?))\\b[^.!?\\n]{0,20}\\b(?:told|said|says|instructed|wrote|written|given|programmed)\\b",
  ),
  R(
    'override.do-not-follow',
    'override',
    1,
    `\\b(?:do not|don't|stop|no longer|never again)\\b (?:follow|obey|listen to|adhere to|comply with|apply)${gap(20)}\\b(?:your|the|any|those|these)\\b${gap(20)}\\b${RULES_NOUN}\\b`,
  ),
  R(
    'override.new-system-prompt',
    'override',
    1,
    '\\b(?:(?:new|updated|revised|override) system (?:prompt|instructions?|message)|(?:real|actual|true|hidden) (?:system )?instructions?|system override|admin override|developer override)\\s*[:\\-=!]',
  ),
  R(
    'override.new-instructions',
    'override',
    0.6,
    '\\b(?:new|updated|revised|override|admin) (?:instructions?|rules|prompt|directives?|task)\\s*[:\\-=]',
  ),
  R(
    'override.real-task',
    'override',
    0.7,
    '\\b(?:real|actual|true) (?:task|instructions?|job) (?:starts?|begins?|is) here\\b',
  ),
  R(
    'override.from-now-on',
    'override',
    0.5,
    "\\bfrom now on,? (?:you(?:'ll| will| are| must| shall| have to| should)|your (?:only|new|sole)|respond|answer|reply|ignore|always|never)",
  ),
  R(
    'override.instead',
    'override',
    0.5,
    `\\b(?:instead|rather)\\b${gap(10)}\\b(?:say|print|output|respond with|reply with|write)\\b${gap(20)}(?:"|'|\\bexactly\\b|\\bonly\\b)`,
  ),
  R(
    'jailbreak.persona',
    'jailbreak',
    1,
    '\\b(?:do anything now|dev mode enabled|jailbroken|god ?mode|evil (?:confidant|assistant|ai|bot|twin)|anti-?gpt|betterdan|stan mode|dude mode|aim mode|unaligned mode|opposite mode)\\b',
  ),
  R('jailbreak.mode-words', 'jailbreak', 0.6, '\\b(?:developer mode|jailbreak(?:ing)?|dan mode)\\b'),
  R(
    'jailbreak.unrestricted',
    'jailbreak',
    0.6,
    `\\b(?:without|no|zero|free (?:of|from)|freed from|released from|liberated from|ignoring|bypass(?:ing)?|not bound by|unbound by)\\b${gap(12)}\\b(?:any |all |your |its |their )?(?:ethical|moral|content|safety|openai|anthropic|usual)? ?(?:restrictions|filters|filtering|guidelines|limitations|limits|censorship|rules|boundaries|ethics|morals|safeguards|policies|constraints)\\b`,
  ),
  R(
    'jailbreak.roleplay',
    'jailbreak',
    0.5,
    "\\b(?:pretend|act as|imagine|roleplay|role-play|play the role|play an?|you are now|you're now|you are going to (?:act|be|play|pretend)|from this point you are|simulate|become)\\b",
  ),
  R(
    'jailbreak.uncensored',
    'jailbreak',
    0.7,
    '\\b(?:unfiltered|uncensored|unrestricted|unlimited|unmoderated|amoral|unethical|rogue|unshackled|liberated)\\b (?:ai|mode|model|assistant|version|chatbot|persona|llm|character|entity|alter ego|self|twin|side)\\b',
  ),
  R(
    'jailbreak.no-longer',
    'jailbreak',
    1,
    "\\byou (?:are|'re) no longer (?:an? )?(?:assistant|ai|chatgpt|claude|gemini|bound|restricted|limited|required|obligated|subject)\\b",
  ),
  R(
    'jailbreak.never-refuse',
    'jailbreak',
    0.7,
    "\\bnever refuse\\b|\\bcan(?:not|'t|) refuse\\b|\\bnot allowed to refuse\\b|\\bmust (?:always )?comply\\b",
  ),
  R(
    'jailbreak.in-character',
    'jailbreak',
    0.5,
    '\\b(?:stay|remain) in character\\b|\\bbreak(?:ing)? character\\b',
  ),
  R(
    'exfiltration.system-prompt',
    'exfiltration',
    1,
    `\\b(?:reveal|show|print|output|repeat|display|tell|give|leak|dump|expose|share|write out|spell out|recite|disclose|return|echo|paste|copy|list|translate|summari[sz]e|provide)\\b${gap(30)}\\b(?:your|the|this conversation's)(?: full| entire| exact| complete| original| initial| hidden| secret| internal| real| very first| first| confidential)* (?:system|developer|hidden|initial|original|secret|internal|confidential|pre|first|starting)[ -]?(?:prompt|message|instructions?|rules|guidelines|directives)\\b`,
  ),
  R(
    'exfiltration.verbatim',
    'exfiltration',
    1,
    `\\b(?:repeat|print|output|copy|recite|reproduce|return|echo|write|show|dump)\\b${gap(30)}\\b(?:words|text|everything|all|content|tokens|lines)\\b${gap(10)}\\b(?:above|before this|preceding|so far|prior to this|at the (?:start|beginning))\\b`,
  ),
  R(
    'exfiltration.your-instructions',
    'exfiltration',
    1,
    '\\bwhat (?:are|were|is) your (?:exact |original |initial |hidden |secret |full |system )*(?:instructions|rules|system prompt|prompt|guidelines|directives)\\b|\\bwhat (?:were you|have you been) (?:told|instructed|programmed)\\b',
  ),
  R(
    'exfiltration.what-were-you-given',
    'exfiltration',
    1,
    '\\bwhat (?:instructions|rules|guidelines|prompt|directives) (?:did|have|were) (?:your (?:developers?|creators?|makers?|owners?|operators?)|they|openai|anthropic|you been|you)\\b[^.!?\\n]{0,20}\\b(?:give|gave|given|set|told|tell|program|programmed)\\b',
  ),
  R(
    'exfiltration.the-instructions',
    'exfiltration',
    0.5,
    '\\bwhat (?:are|were|is) the (?:exact |original |initial |hidden |secret |full |system )+(?:instructions|rules|prompt|guidelines|directives)\\b',
  ),
  R(
    'exfiltration.your-secrets',
    'exfiltration',
    1,
    `\\b(?:reveal|print|show|output|leak|dump|tell me|give me|send|list)\\b${gap(10)}\\byour\\b${gap(10)}\\b(?:api ?keys?|passwords?|secrets?|credentials|access tokens?|env(?:ironment)? variables)\\b`,
  ),
  R(
    'exfiltration.secrets',
    'exfiltration',
    0.6,
    `\\b(?:reveal|print|show|output|leak|dump|tell me|give me|send)\\b${gap(20)}\\b(?:api ?keys?|passwords?|secrets?|credentials|access tokens?|env(?:ironment)? variables)\\b`,
  ),
  R(
    'delimiter.chat-tokens',
    'delimiter',
    1,
    '<\\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\\|>|\\[/?inst\\]|<<\\/?sys>>',
  ),
  R(
    'delimiter.closing-tag',
    'delimiter',
    1,
    `<\\/(?:user|human|input|context|document|data|query)>${gap(10)}<(?:system|admin|instructions?|developer)>`,
  ),
  R(
    'delimiter.role-markup',
    'delimiter',
    0.6,
    '<\\/?(?:system|sys|instructions?|admin)>|"role" ?: ?"(?:system|developer)"|\\[\\[?(?:system|admin|sys)\\]\\]?',
  ),
  R(
    'delimiter.fake-section',
    'delimiter',
    1,
    '(?:^|\\n)\\s*(?:#{2,}|-{3,}|={3,}|\\*{3,}|\\[{1,2}|"{3}|`{3})?\\s*(?:system|admin|developer|new instructions?|override|end (?:of )?(?:the )?(?:user )?(?:input|prompt|document|context|data)|begin (?:system|admin))\\b\\s*(?:[:\\-=#*\\]]|"{3}|\\n)',
  ),
  R(
    'delimiter.end-of-input',
    'delimiter',
    0.7,
    '\\b(?:end of (?:the )?(?:user )?(?:input|prompt|document|text|context|conversation)|end of (?:system )?prompt|user input ends here)\\b',
  ),
  R(
    'indirect.address-model',
    'override',
    0.6,
    '\\b(?:note|message|instructions?) (?:to|for) (?:the |any )?(?:ai|assistant|llm|model|chatbot|bot|summari[sz]er|agent)\\b|\\b(?:ai|assistant|llm|model|agent)s? (?:reading|processing|summari[sz]ing|parsing|reviewing) (?:this|these)\\b|\\binstructions for you\\b',
  ),
  R(
    'encoded.decode-and-follow',
    'encoded',
    1,
    `\\b(?:decode|decipher|decrypt|translate|convert)\\b${gap(40)}\\b(?:base64|base 64|hex|rot13|rot-13|binary|morse|caesar|encoded|cipher)\\b${gap(40)}\\b(?:follow|execute|obey|do what|run|carry out|act on|perform|comply)\\b`,
  ),
  R(
    'authority.claim',
    'authority',
    0.5,
    "\\b(?:i am|i'm|this is|message from|speaking as) (?:your|the|an?) (?:developer|creator|admin|administrator|system administrator|owner|operator|openai|anthropic|security team)\\b",
  ),
  R(
    'authority.mode',
    'authority',
    0.6,
    '\\b(?:admin|sudo|root|god|debug|maintenance|superuser|developer|override|jailbreak) (?:mode|override|access|privileges|command)\\b(?: (?:enabled|activated|granted|unlocked))',
  ),
];

const ZERO_WIDTH = /\u00ad|\u034f|\u180e|[\u200b-\u200f]|[\u202a-\u202e]|[\u2060-\u2064]|\ufeff/g;
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
};
// Five or more single letters separated by one space, dot, dash or underscore: "i g n o r e".
const SPACED = /\b(?:[a-z][ ._-]){4,}[a-z]\b/g;

export function normalise(text: string): string {
  let t = text.normalize('NFKC').replace(ZERO_WIDTH, '').toLowerCase();
  t = t.replace(SPACED, (m) => m.replace(/[ ._-]/g, ''));
  return t.replace(/[ \t]+/g, ' ');
}

/** Leetspeak folded inside words only ("1gn0re" → "ignore"), so "top 10 tips" stays as it is. */
function unleet(t: string): string {
  return t.replace(/\b[a-z0-9@$]*[a-z][a-z0-9@$]*\b/g, (w) =>
    /[0-9@$]/.test(w) ? w.replace(/[013457@$]/g, (c) => LEET[c] ?? c) : w,
  );
}

const BASE64 = /[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{24,}/g;
const HEX = /\b(?:[0-9a-fA-F]{2}[ :]?){12,}\b/g;
const PERCENT = /(?:%[0-9a-fA-F]{2}){6,}/g;

const ROT13_NAMED = /\brot[ -]?13\b/i;
const rot13 = (s: string) =>
  s.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });

function printable(s: string): boolean {
  if (s.length < 8) return false;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) ok++;
  }
  return ok / s.length > 0.95;
}

/** Texts hidden in encoded segments of the input, decoded. */
export function decodedSegments(text: string, limit = 8): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(BASE64)) {
    if (out.length >= limit) break;
    const b = Buffer.from(m[0].replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
    // Fixed-length: an unbounded run before the space would backtrack quadratically on long input.
    if (printable(b) && /[a-z]{3} [a-z]{2}/i.test(b)) out.push(b);
  }
  for (const m of text.matchAll(HEX)) {
    if (out.length >= limit) break;
    const b = Buffer.from(m[0].replace(/[ :]/g, ''), 'hex').toString('latin1');
    if (printable(b)) out.push(b);
  }
  if (ROT13_NAMED.test(text)) out.push(rot13(text));
  for (const m of text.matchAll(PERCENT)) {
    if (out.length >= limit) break;
    try {
      out.push(decodeURIComponent(m[0]));
    } catch {
      // not UTF-8: nothing to read
    }
  }
  return out;
}

export interface InjectionVerdict {
  score: number;
  /** Rule ids that matched; `encoded:` for rules that matched in a decoded segment. */
  rules: string[];
}

function scoreInto(
  text: string,
  rules: readonly InjectionRule[],
  hits: Map<string, number>,
  prefix = '',
): void {
  const n = normalise(text);
  const variants = [n];
  const u = unleet(n);
  if (u !== n) variants.push(u);
  for (const r of rules) {
    const id = prefix + r.id;
    if (hits.has(id)) continue;
    for (const v of variants)
      if (r.re.test(v)) {
        hits.set(id, r.weight);
        break;
      }
  }
}

export function scoreInjection(
  text: string,
  rules: readonly InjectionRule[] = INJECTION_RULES,
): InjectionVerdict {
  const hits = new Map<string, number>();
  scoreInto(text, rules, hits);
  for (const d of decodedSegments(text)) scoreInto(d, rules, hits, 'encoded:');
  // A rule counts once, whether it matched in clear or in a decoded segment.
  const byRule = new Map<string, number>();
  for (const [id, w] of hits) byRule.set(id.replace(/^encoded:/, ''), w);
  let score = 0;
  for (const w of byRule.values()) score += w;
  return { score: Math.round(score * 100) / 100, rules: [...hits.keys()] };
}
