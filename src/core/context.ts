import type { IncomingHttpHeaders } from 'node:http';
import type { Consumer } from '../store/identity-store.js';
import { ERRORS, type ErrorCode, PhaseError } from './errors.js';
import type { Phase } from './phases.js';
import type { Allow, Decision, Mode, Outcome, Rejection, ShortCircuit } from './policy.js';

/** What authentication established, for authorization policies to read. */
export interface Identity {
  /** The auth policy that authenticated the request (`key-auth`, `jwt`, ...). */
  method: string;
  /** The credential's id or the token's `jti`/hash, for logs and per-credential limits. */
  credential?: string;
  /** Verified token claims (jwt, oidc, introspection). */
  claims?: Record<string, unknown>;
  /** OAuth scopes granted. */
  scopes?: readonly string[];
  /** True when the anonymous consumer was assigned (no credentials presented). */
  anonymous?: boolean;
}

/** Consumers are store data; the type lives with the identity store (below core). */
export type { Consumer };

/** The client certificate of an HTTPS request, as the TLS layer saw it (mtls-auth reads it). */
export interface TlsInfo {
  /** The certificate chains to one of the listener's CA files and is within its validity. */
  readonly authorized: boolean;
  /** Why it did not verify (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`), or `NO_CERTIFICATE`. */
  readonly error?: string;
  /** Subject distinguished name, RFC 4514 order: `CN=client-a,O=Acme,C=DE`. */
  readonly subject?: string;
  /** subjectAltName entries: `DNS:a.example`, `URI:spiffe://acme/a`, `email:ops@acme.example`. */
  readonly san: readonly string[];
  /** SHA-256 fingerprint of the certificate, lower-case hex without colons. */
  readonly fingerprint256?: string;
  /** The negotiated protocol (`TLSv1.3`). */
  readonly version?: string;
}

/** The read-only view of the incoming request that policies see. */
export interface RequestView {
  readonly id: string;
  readonly method: string;
  /** Normalised path (dot segments removed), without the query string. */
  readonly path: string;
  /** The query string without its leading `?` ('' when none). */
  readonly rawQuery: string;
  readonly host: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received, in order, repeats kept (`[name, value, ...]`). */
  readonly rawHeaders?: readonly string[];
  /** The client's address, after trusted-proxy handling of X-Forwarded-For. */
  readonly clientIp: string;
  /** The TCP peer's address. */
  readonly remoteAddress: string;
  readonly protocol: 'http' | 'https';
  /** The TLS connection's client certificate; undefined on plain HTTP. */
  readonly tls?: TlsInfo;
  /** Epoch milliseconds at which the gateway received the request. */
  readonly time: number;
  /** Path parameters of the matched route (`/users/:id`). */
  readonly params: Record<string, string | undefined>;
  readonly route: string;
  readonly service: string;
}

/** The upstream's answer, as policies in `response` see it. */
export interface ResponseView {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Who a decision is recorded for: the fields of a policy instance that a Decision names. */
export interface DecisionSource {
  policy: string;
  id: string;
  label: string;
  scopeText: string;
  mode: Mode;
}

export interface BodyObserver {
  maxBytes: number;
  check: (body: Buffer, truncated: boolean) => Outcome;
  source: DecisionSource;
}

export interface RejectOptions {
  rule?: string;
  detail?: string;
  headers?: Record<string, string>;
  message?: string;
  status?: number;
}

/** A rejection value with the registry's status, unless overridden. */
export function rejection(code: ErrorCode, opts: RejectOptions = {}): Rejection {
  return {
    kind: 'reject',
    code,
    status: opts.status ?? ERRORS[code].status,
    rule: opts.rule,
    detail: opts.detail,
    headers: opts.headers,
    message: opts.message,
  };
}

const BEFORE_UPSTREAM: readonly Phase[] = [
  'request',
  'auth',
  'authz',
  'rateLimit',
  'validate',
  'transform',
  'upstream',
];
const BEFORE_HEADERS_SENT: readonly Phase[] = [...BEFORE_UPSTREAM, 'response'];

/**
 * The small, stable API a policy talks to. One instance per request. Calls that change the
 * request or the response check the phase they are made in, and do nothing in shadow mode:
 * a shadow policy decides and records, it does not act.
 */
export class PolicyContext {
  phase: Phase = 'request';
  consumer: Consumer | undefined = undefined;
  /** Set in `auth` with setIdentity; read by authz, rate limits and logs. */
  identity: Identity | undefined = undefined;
  readonly decisions: Decision[] = [];
  /** Headers sent to the upstream. Mutable through setRequestHeader/removeRequestHeader. */
  readonly upstreamHeaders: Record<string, string | string[] | undefined>;
  /** Headers added to the client's response. */
  readonly responseHeaders: Record<string, string> = {};
  /** The upstream's answer; set before `response` runs. */
  response: ResponseView | undefined = undefined;
  /** The status the client was finally sent (499 when it went away); set before `log` runs. */
  finalStatus: number | undefined = undefined;
  /** Cap on the request body, enforced while streaming. */
  bodyLimit: number | undefined = undefined;
  /** The request body, once a policy or terminal asked for it with `readBody`. */
  bufferedBody: Buffer | undefined = undefined;
  /** Reads the incoming body up to a cap; installed by the data plane. */
  bodySource: ((maxBytes: number) => Promise<Buffer>) | undefined = undefined;
  private stateMap: Map<string, unknown> | undefined = undefined;
  /** Free per-request state, keyed by policy (made on first use). */
  get state(): Map<string, unknown> {
    if (!this.stateMap) this.stateMap = new Map();
    return this.stateMap;
  }
  /** True while the running policy is enforced; false while it is shadowed. */
  acting = true;
  /** The instance currently running, for error messages. */
  currentPolicy = '';
  /** The instance currently running, for decisions recorded after its phase. */
  currentInstance: DecisionSource | undefined = undefined;
  /** Checks on the response body, run after it went out (see observeResponseBody). */
  bodyObservers: BodyObserver[] | undefined = undefined;
  /** The request id in use (a policy may replace the one the gateway chose). */
  requestId: string;
  /** Whether the id is returned to the client in X-Request-Id. */
  echoRequestId = true;

  constructor(
    readonly request: RequestView,
    upstreamHeaders: Record<string, string | string[] | undefined>,
    private readonly clock: { now(): number },
  ) {
    this.upstreamHeaders = upstreamHeaders;
    this.requestId = request.id;
  }

  now(): number {
    return this.clock.now();
  }

  reject(code: ErrorCode, opts: RejectOptions = {}): Rejection {
    return rejection(code, opts);
  }

  respond(status: number, headers: Record<string, string>, body = '', rule?: string): ShortCircuit {
    this.check('respond', BEFORE_UPSTREAM);
    return { kind: 'respond', status, headers, body, rule };
  }

  allow(rule: string): Allow {
    return { kind: 'allow', rule };
  }

  setConsumer(consumer: Consumer): void {
    this.check('setConsumer', ['auth']);
    if (this.acting) this.consumer = consumer;
  }

  setIdentity(identity: Identity): void {
    this.check('setIdentity', ['auth']);
    if (this.acting) this.identity = identity;
  }

  setRequestHeader(name: string, value: string): void {
    this.check('setRequestHeader', BEFORE_UPSTREAM);
    if (this.acting) this.upstreamHeaders[name.toLowerCase()] = value;
  }

  removeRequestHeader(name: string): void {
    this.check('removeRequestHeader', BEFORE_UPSTREAM);
    if (this.acting) delete this.upstreamHeaders[name.toLowerCase()];
  }

  setRequestId(id: string): void {
    this.check('setRequestId', ['request']);
    if (!this.acting) return;
    this.requestId = id;
    this.upstreamHeaders['x-request-id'] = id;
  }

  suppressIdEcho(): void {
    this.check('suppressIdEcho', ['request']);
    if (this.acting) this.echoRequestId = false;
  }

  setResponseHeader(name: string, value: string): void {
    this.check('setResponseHeader', BEFORE_HEADERS_SENT);
    if (this.acting) this.responseHeaders[name.toLowerCase()] = value;
  }

  limitBody(maxBytes: number): void {
    this.check('limitBody', ['request', 'auth', 'authz', 'rateLimit', 'validate']);
    if (this.acting)
      this.bodyLimit = this.bodyLimit === undefined ? maxBytes : Math.min(this.bodyLimit, maxBytes);
  }

  /**
   * The whole request body, buffered once (at most `maxBytes`, default the gateway's
   * `limits.maxBufferedBodyBytes`) and then sent upstream from the buffer. Rejects with
   * BodyTooLargeError beyond the cap, which the pipeline answers with 413 in every mode.
   */
  async readBody(maxBytes?: number): Promise<Buffer> {
    this.check('readBody', BEFORE_UPSTREAM);
    if (this.bufferedBody) return this.bufferedBody;
    if (!this.bodySource) return Buffer.alloc(0);
    const limit = Math.min(maxBytes ?? Number.POSITIVE_INFINITY, this.bodyLimit ?? Number.POSITIVE_INFINITY);
    this.bufferedBody = await this.bodySource(limit);
    return this.bufferedBody;
  }

  /** Sets the mode of the policy about to run; used by the pipeline only. */
  enter(phase: Phase, mode: Mode, policy: string, instance?: DecisionSource): void {
    this.phase = phase;
    this.acting = mode === 'enforce';
    this.currentPolicy = policy;
    this.currentInstance = instance;
  }

  /**
   * Asks for a copy of the upstream's response body (at most `maxBytes`), handed to `check`
   * once the body has been streamed to the client: a check that cannot delay or change the
   * answer (response validation, leak detection). A rejection it returns is recorded as a
   * `would_deny` decision of the calling policy, in every mode. Nothing is copied unless a
   * policy asks.
   */
  observeResponseBody(maxBytes: number, check: (body: Buffer, truncated: boolean) => Outcome): void {
    this.check('observeResponseBody', ['response']);
    const source = this.currentInstance;
    if (!source) return;
    if (!this.bodyObservers) this.bodyObservers = [];
    this.bodyObservers.push({ maxBytes, check, source });
  }

  private check(call: string, allowed: readonly Phase[]): void {
    if (!allowed.includes(this.phase)) throw new PhaseError(call, this.phase, allowed);
  }
}
