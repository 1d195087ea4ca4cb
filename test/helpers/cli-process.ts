import { type ChildProcess, spawn } from 'node:child_process';
import { ADMIN_TOKEN } from './gateway.js';

/** A `portcullis start` child process, its stderr read line by line (JSON lines parsed). */
export interface StartedCli {
  child: ChildProcess;
  /** Every stderr line so far: parsed JSON for the log, `{ text }` for the CLI's own lines. */
  lines: Record<string, any>[];
  /** Resolves with the first line (past or future) that `ok` accepts; rejects if the process exits first. */
  waitLine(what: string, ok: (l: Record<string, any>) => boolean, ms?: number): Promise<Record<string, any>>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  stderr(): string;
}

const children = new Set<ChildProcess>();
/** Kills what is still running: call it in `after()`, so a failed test leaves no gateway behind. */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}
process.once('exit', killAll);

/** Spawns `portcullis start ARGS` from the sources (as test/cli.test.ts runs the CLI). */
export function spawnStart(args: string[], env: Record<string, string | undefined> = {}): StartedCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: Record<string, any>[] = [];
  const waiters: { ok: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] =
    [];
  let raw = '';
  let rest = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    raw += chunk;
    rest += chunk;
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      const text = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      let line: Record<string, any>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const w of [...waiters])
        if (w.ok(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      nl = rest.indexOf('\n');
    }
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => raw,
    waitLine(what, ok, ms = 90_000) {
      const seen = lines.find(ok);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        // A bound, not a timing: a line that never comes fails the test instead of hanging it.
        const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; stderr:\n${raw}`)), ms);
        t.unref();
        waiters.push({
          ok,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then((code) => reject(new Error(`exited (${code}) before ${what}; stderr:\n${raw}`)));
      });
    },
  };
}

/** Waits for the CLI's "proxy on ..., admin API on ..." line and returns the URLs. */
export async function started(p: StartedCli): Promise<{ url: string; admin: string; revision: string }> {
  const l = await p.waitLine('the start line', (x) => /^portcullis: proxy on /.test(x.text ?? ''));
  const m = /proxy on ([^:]+):(\d+), admin API on ([^:]+):(\d+), revision (\S+)/.exec(l.text)!;
  return { url: `http://127.0.0.1:${m[2]}`, admin: `http://127.0.0.1:${m[4]}`, revision: m[5] };
}

/** SIGTERM, then the exit code. */
export async function terminate(p: StartedCli): Promise<number | string> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

/** Arguments every test start uses: loopback, ports chosen by the OS. */
export const LOOPBACK = ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'];
