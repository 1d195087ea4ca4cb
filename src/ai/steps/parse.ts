import type { TerminalCall } from '../../runtime/compile.js';
import { BodyTooLargeError } from '../../core/body-limit.js';
import { type AiCallState, aiCall } from '../call-state.js';
import { aiError } from '../errors.js';
import { type AiRoute, fail } from './turn.js';

/**
 * Parse: the call's body, read and parsed once (the AI policies may have done it already).
 * Answers a body over the limit and gives undefined; other read errors propagate.
 */
export async function parse(route: AiRoute, call: TerminalCall): Promise<AiCallState | undefined> {
  try {
    return await aiCall(call.ctx);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    fail(
      route,
      call,
      aiError(
        'PCS_ERR_BODY_TOO_LARGE',
        413,
        'invalid_request_error',
        'request_too_large',
        'Request body too large',
      ),
    );
    return undefined;
  }
}
