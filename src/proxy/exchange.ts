import type { Chain } from '../core/chain.js';
import type { PolicyContext } from '../core/context.js';
import type { ErrorCode } from '../core/errors.js';
import type { Decision } from '../core/policy.js';

/** What the gateway knows of one request, for the access log and the metrics. */
export class Exchange {
  id = '';
  route = '';
  service = '';
  status = 0;
  upstreamStatus = 0;
  upstreamTarget = '';
  upstreamStart = 0;
  upstreamMs = -1;
  bytesOut = 0;
  code: ErrorCode | undefined = undefined;
  detail: string | undefined = undefined;
  ctx: PolicyContext | undefined = undefined;
  /** The policy chain this request runs (consumer-specific once the consumer is known). */
  chain: Chain | undefined = undefined;
  /** Aborts the upstream call; set while one is in flight. */
  abort: ((reason: string) => void) | undefined = undefined;
  done = false;
  /** A GET/HEAD body dropped by `gateway.bodyOnGet: strip`: nothing is sent upstream. */
  bodyDropped = false;
  /** Set while a canary runs: which revision served the request, and where to count it. */
  cohort: 'stable' | 'canary' | undefined = undefined;
  canary:
    | {
        record(
          cohort: 'stable' | 'canary',
          status: number,
          ms: number,
          decisions?: readonly Decision[],
        ): void;
      }
    | undefined = undefined;

  constructor(
    readonly start: number,
    readonly time: number,
    /** The revision serving the request (a group canary switches it after `auth`). */
    public revision: number | undefined,
  ) {}
}
