import type { AdminModule } from '../server.js';
import { aiAdmin } from './ai.js';
import { bansModule } from './bans.js';
import { credentialRoutes } from './credentials.js';

/** Admin endpoint modules, registered in this order after the core endpoints. */
export const ADMIN_MODULES: readonly AdminModule[] = [credentialRoutes, aiAdmin, bansModule];
