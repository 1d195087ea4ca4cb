import { ManualClock } from '../../src/core/clock.js';
import { PolicyContext, type RequestView } from '../../src/core/context.js';
import type { Phase } from '../../src/core/phases.js';

/**
 * A policy context for in-process policy tests: a plain GET of `/` from 127.0.0.1 unless
 * `view` says otherwise, entered in `phase` as an enforced `policy`.
 */
export function testContext(
  view: Partial<RequestView>,
  policy: string,
  upstream: Record<string, string | string[] | undefined> = {},
  phase: Phase = 'request',
): PolicyContext {
  const c = new PolicyContext(
    {
      id: 'r',
      method: 'GET',
      path: '/',
      rawQuery: '',
      host: 'gw.test',
      headers: {},
      clientIp: '127.0.0.1',
      remoteAddress: '127.0.0.1',
      protocol: 'http',
      time: 0,
      params: {},
      route: 'r',
      service: 's',
      ...view,
    },
    upstream,
    new ManualClock(),
  );
  c.enter(phase, 'enforce', policy);
  return c;
}
