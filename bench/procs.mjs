// Child processes of the bench: each server runs in its own process, on 127.0.0.1 only.
import { fork } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..');
const children = new Set();

/**
 * Forks a node script. Resolves once it says it is ready: an IPC `{ ready }` message, or for
 * Portcullis the "proxy on HOST:PORT, admin API on HOST:PORT" line on stderr.
 * `stdout` is a file path (the child's fd 1 is opened on it) or 'ignore'.
 */
export function start(name, script, args, { env, stdout = 'ignore', execArgv = [] } = {}) {
  const out = stdout === 'ignore' ? 'ignore' : openSync(stdout, 'a');
  const child = fork(script, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', out, 'pipe', 'ipc'],
  });
  children.add(child);
  let tail = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('did not start within 30 s')), 30_000);
    const done = (info) => {
      clearTimeout(timer);
      resolve({ name, child, ...info, stderrTail: () => tail });
    };
    function fail(err) {
      clearTimeout(timer);
      reject(new Error(`${name}: ${err.message}\n${tail}`));
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => {
      tail = (tail + s).slice(-4000);
      const m = /proxy on [^:\s]+:(\d+), admin API on [^:\s]+:(\d+)/.exec(tail);
      if (m) done({ port: Number(m[1]), adminPort: Number(m[2]) });
    });
    child.once('message', (m) => {
      if (m?.ready) done({ port: m.port });
    });
    child.once('exit', (code, signal) => fail(new Error(`exited early (${code ?? signal})`)));
  });
}

/** Stops one child with SIGTERM (so --cpu-prof writes its profile), SIGKILL after 5 s. */
export function stop(proc) {
  const { child } = proc;
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Last resort on an error: kill every child this process started. */
export function killAll() {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

/** A long-lived load generator child; `run(opts)` runs one autocannon measurement in it. */
export async function loadGenerator() {
  const proc = await start('load', join(here, 'load.mjs'), []);
  let next = 0;
  const pending = new Map();
  proc.child.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
  return {
    proc,
    run(opts) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        proc.child.send({ id, opts });
      });
    },
    /** Ends the running measurement now (its result still arrives through run()'s promise). */
    stop() {
      proc.child.send({ stop: true });
    },
  };
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a child has used so far, from /proc; undefined off Linux. */
export function cpuSeconds(proc) {
  try {
    const stat = readFileSync(`/proc/${proc.child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S; // fields 14 and 15: utime, stime
  } catch {
    return undefined;
  }
}
