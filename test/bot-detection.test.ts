import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validator } from '../src/config/ajv.js';
import { ManualClock } from '../src/core/clock.js';
import { classify } from '../src/policies/bot-detection/classify.js';
import { BotDetectionSchema } from '../src/policies/bot-detection/schema.js';
import { accessLineOf } from './helpers/access-log.js';
import { call, startGateway, type TestGateway } from './helpers/gateway.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const BROWSER_HEADERS = { accept: 'text/html,*/*', 'accept-language': 'en-GB,en;q=0.9' };

describe('bot-detection: classification', () => {
  it('sorts user agents into classes', () => {
    const c = (ua: string | undefined, extra: Record<string, string> = BROWSER_HEADERS, secure = false) =>
      classify(ua === undefined ? { ...extra } : { 'user-agent': ua, ...extra }, secure);
    assert.equal(c(undefined), 'missing');
    assert.equal(c('  '), 'missing');
    assert.equal(
      c(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
      ),
      'headless',
    );
    assert.equal(
      c(
        'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
      ),
      'headless',
    );
    for (const ua of [
      'curl/8.4.0',
      'python-requests/2.31.0',
      'Go-http-client/2.0',
      'okhttp/4.12.0',
      'Wget/1.21',
      'axios/1.6.0',
      'Java/17.0.2',
    ])
      assert.equal(c(ua), 'library', ua);
    for (const ua of [
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    ])
      assert.equal(c(ua), 'crawler', ua);
    assert.equal(c(CHROME), 'browser');
    assert.equal(c(FIREFOX), 'browser');
    assert.equal(c(CHROME, { accept: '*/*' }), 'inconsistent');
    assert.equal(c(CHROME, BROWSER_HEADERS, true), 'inconsistent');
    assert.equal(c(CHROME, { ...BROWSER_HEADERS, 'sec-fetch-mode': 'navigate' }, true), 'browser');
    assert.equal(c('MyCompanyApp/3.1 (iPhone; iOS 17.1)'), 'unknown');
    // isbot counts a bare `name/version` user agent as a bot.
    assert.equal(c('MyCompanyApp/3.1'), 'crawler');
  });
  it('schema refuses unknown classes and actions', () => {
    const v = validator(BotDetectionSchema);
    assert.equal(v({ actions: { robots: 'deny' } }), false);
    assert.equal(v({ actions: { crawler: 'block' } }), false);
    assert.equal(v({ actions: { library: 'rate-limit' }, rateLimit: { requests: 2, perSeconds: 60 } }), true);
  });
});

describe('bot-detection through the gateway', () => {
  let up: Upstream;
  const clock = new ManualClock(1_700_000_000_000);
  const config = (mode: string, extra: object = {}) => ({
    services: [{ name: 'app', targets: [{ url: up.url }] }],
    routes: [{ name: 'web', service: 'app', paths: ['/'] }],
    policies: [
      {
        name: 'bot-detection',
        mode,
        config: {
          actions: { library: 'rate-limit', inconsistent: 'deny' },
          rateLimit: { requests: 2, perSeconds: 60 },
          exempt: ['UptimeProbe'],
          ...extra,
        },
      },
    ],
  });
  const seenClass = () => up.seen[up.seen.length - 1].headers['x-bot-class'];

  before(async () => {
    up = await startUpstream();
  });
  after(() => up?.close());

  describe('enforce', () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(config('enforce'), { clock });
    });
    after(() => t?.stop());

    it('allows browsers and strips a spoofed class header', async () => {
      const r = await call(`${t.url}/`, {
        headers: { 'user-agent': CHROME, ...BROWSER_HEADERS, 'x-bot-class': 'browser' },
      });
      assert.equal(r.status, 200);
      assert.equal(seenClass(), undefined);
      assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'class:browser');
    });

    it('tags crawlers and clients without a user agent for the upstream', async () => {
      assert.equal(
        (
          await call(`${t.url}/`, {
            headers: {
              'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
            },
          })
        ).status,
        200,
      );
      assert.equal(seenClass(), 'crawler');
      assert.equal((await call(`${t.url}/`)).status, 200);
      assert.equal(seenClass(), 'missing');
    });

    it('denies headless browsers and browsers with inconsistent headers', async () => {
      const r = await call(`${t.url}/`, {
        headers: { 'user-agent': 'Mozilla/5.0 HeadlessChrome/120.0.0.0 Safari/537.36', ...BROWSER_HEADERS },
      });
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'PCS_ERR_BOT_DENIED');
      assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'class:headless');
      const bare = await call(`${t.url}/`, { headers: { 'user-agent': CHROME } });
      assert.equal(bare.status, 403);
      assert.equal((await accessLineOf(t.access, bare)).decisions[0].rule, 'class:inconsistent');
    });

    it('rate-limits HTTP libraries per class and IP with GCRA on the injected clock', async () => {
      const curl = { 'user-agent': 'curl/8.4.0' };
      assert.equal((await call(`${t.url}/`, { headers: curl })).status, 200);
      assert.equal(seenClass(), 'library');
      assert.equal((await call(`${t.url}/`, { headers: curl })).status, 200);
      const r = await call(`${t.url}/`, { headers: curl });
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'PCS_ERR_RATE_LIMITED');
      assert.equal(r.headers['retry-after'], '30');
      assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'class:library:rate-limit');
      // Another class is not affected; after one emission interval one more is admitted.
      assert.equal(
        (await call(`${t.url}/`, { headers: { 'user-agent': 'python-requests/2.31' } })).status,
        429,
      );
      clock.advance(30_000);
      assert.equal((await call(`${t.url}/`, { headers: curl })).status, 200);
    });

    it('exempts configured user agents', async () => {
      const r = await call(`${t.url}/`, { headers: { 'user-agent': 'HeadlessChrome UptimeProbe/1' } });
      assert.equal(r.status, 200);
      assert.equal((await accessLineOf(t.access, r)).decisions[0].rule, 'exempt');
    });
  });

  it('shadow records would_deny and neither blocks nor tags', async () => {
    const t = await startGateway(config('shadow'), { clock });
    try {
      const r = await call(`${t.url}/`, { headers: { 'user-agent': 'PhantomJS/2.1', ...BROWSER_HEADERS } });
      assert.equal(r.status, 200);
      const d = (await accessLineOf(t.access, r)).decisions[0];
      assert.deepEqual([d.outcome, d.code, d.rule], ['would_deny', 'PCS_ERR_BOT_DENIED', 'class:headless']);
      await call(`${t.url}/`, { headers: { 'user-agent': 'Googlebot/2.1' } });
      assert.equal(seenClass(), undefined);
    } finally {
      await t.stop();
    }
  });

  it('off makes no decision', async () => {
    const t = await startGateway(config('off'), { clock });
    try {
      const r = await call(`${t.url}/`, { headers: { 'user-agent': 'PhantomJS/2.1' } });
      assert.equal(r.status, 200);
      assert.equal((await accessLineOf(t.access, r)).decisions, undefined);
    } finally {
      await t.stop();
    }
  });
});
