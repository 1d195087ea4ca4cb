import type { SecretEnv } from '../config/secrets.js';
import type { PolicyRegistry } from '../config/validate.js';
import type { Revisions } from '../runtime/revisions.js';
import type { RequestRecorder } from '../reqlog/recorder.js';

/** What a replay needs from the gateway beyond the admin API's deps: the policy registry and secrets. */
export interface ReplayEnv {
  registry: PolicyRegistry;
  secretEnv?: SecretEnv;
  /** Flushed before a replay or a shadow summary reads the log, so the latest requests count. */
  recorder?: RequestRecorder;
}

const envs = new WeakMap<Revisions, ReplayEnv>();

/** Called by the gateway: ties the replay environment to its revision manager. */
export function attachReplayEnv(revisions: Revisions, env: ReplayEnv): void {
  envs.set(revisions, env);
}

export function replayEnv(revisions: Revisions): ReplayEnv | undefined {
  return envs.get(revisions);
}
