import type { AdminModule } from '../server.js';
import { adminRoutes } from './admins.js';
import { aiAdmin } from './ai.js';
import { auditRoutes } from './audit.js';
import { bansModule } from './bans.js';
import { canaryRoutes } from './canary.js';
import { credentialRoutes } from './credentials.js';
import { proposalRoutes } from './proposals.js';
import { replayModule } from './replay.js';
import { requestLogModule } from './reqlog.js';
import { shadowModule } from './shadow.js';

/** Admin endpoint modules, registered in this order after the core endpoints. */
export const ADMIN_MODULES: readonly AdminModule[] = [
  credentialRoutes,
  aiAdmin,
  bansModule,
  requestLogModule,
  replayModule,
  shadowModule,
  adminRoutes,
  auditRoutes,
  canaryRoutes,
  proposalRoutes,
];
