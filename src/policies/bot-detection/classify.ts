import type { IncomingHttpHeaders } from 'node:http';
import { isbot } from 'isbot';
import type { BotClass } from './schema.js';

const HEADLESS =
  /headlesschrome|phantomjs|puppeteer|playwright|selenium|webdriver|slimerjs|htmlunit|electron\/|nightmare|cypress|zombie\.js/i;
const LIBRARY =
  /^(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|httpie|go-http-client|okhttp|java\/|apache-httpclient|jakarta|axios|node-fetch|undici|got\b|node\b|libwww-perl|lwp::|php\b|guzzlehttp|ruby|faraday|rest-client|restsharp|dart:io|postmanruntime|insomnia|powershell|winhttp|cfnetwork|reqwest|hyper\/|scrapy|httpclient|k6\/|apachebench|ab\/|wrk|hey\/|autocannon)/i;
const BROWSER = /^mozilla\/5\.0 .*(?:chrome|chromium|crios|firefox|fxios|safari|edg|opr)\//i;
const CHROMIUM = /(?:chrome|chromium|edg)\/(\d+)/i;
const FIREFOX = /firefox\/(\d+)/i;

/**
 * The class of a client from its headers, cheapest and most certain signals first: no UA,
 * automation markers, HTTP libraries, then the maintained crawler list, then browser header
 * consistency.
 */
export function classify(headers: IncomingHttpHeaders, secure: boolean): BotClass {
  const ua = headers['user-agent'];
  if (!ua?.trim()) return 'missing';
  if (HEADLESS.test(ua)) return 'headless';
  if (LIBRARY.test(ua.trimStart())) return 'library';
  if (isbot(ua)) return 'crawler';
  if (!BROWSER.test(ua)) return 'unknown';
  if (!headers.accept || !headers['accept-language']) return 'inconsistent';
  if (secure && !headers['sec-fetch-mode'] && !headers['sec-fetch-site']) {
    const chromium = CHROMIUM.exec(ua);
    const firefox = chromium ? undefined : FIREFOX.exec(ua);
    if ((chromium && Number(chromium[1]) >= 80) || (firefox && Number(firefox[1]) >= 90))
      return 'inconsistent';
  }
  return 'browser';
}
