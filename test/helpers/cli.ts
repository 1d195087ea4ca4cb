import { execFile } from 'node:child_process';
import { ADMIN_TOKEN } from './gateway.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI from source (`src/cli/main.ts` with tsx) as a child process, against the admin API
 * at `adminUrl` with the test gateway's token unless `env` says otherwise.
 */
export function runCli(
  adminUrl: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          USER: 'cli-tester',
          PORTCULLIS_ADMIN_URL: adminUrl,
          PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
          ...env,
        },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}
