import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Terminal } from '../core/compile.js';
import type { ConfigIssue } from '../core/errors.js';
import type { PolicyServices } from '../core/policy.js';
import type { RouteConfig } from '../config/schema.js';
import type { AiSectionConfig } from './schema.js';

export interface AiCompileDeps {
  services: PolicyServices;
  clock: Clock;
  logger: Logger;
}

export interface AiRuntime {
  /** The handler of a route with an `ai` block, or issues explaining why it cannot be built. */
  terminalFor(route: RouteConfig, path: string): { terminal?: Terminal; issues: ConfigIssue[] };
}

/** Compiles the `ai` section once per revision. Placeholder until the AI gateway lands. */
export function compileAi(_section: AiSectionConfig | undefined, _deps: AiCompileDeps): AiRuntime {
  return {
    terminalFor(_route, path) {
      return { issues: [{ path, message: 'AI routes are not available in this build yet' }] };
    },
  };
}
