export { Gateway, type GatewayOptions } from './gateway.js';
export { definePolicy, type PolicyModule, type PolicyDeps, type PolicyHandlers } from './core/policy.js';
export { PolicyContext, type Consumer, type RequestView } from './core/context.js';
export { PHASES, type Phase } from './core/phases.js';
export { ERRORS, type ErrorCode, ConfigError } from './core/errors.js';
export { ManualClock, systemClock, type Clock } from './core/clock.js';
