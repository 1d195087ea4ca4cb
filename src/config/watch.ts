import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { sha256 } from '../lib/canonical.js';
import { ConfigError } from '../core/errors.js';
import { parseConfigText } from './load.js';

/**
 * Watches a config file and applies it when it changes. Changes are debounced; a file that does
 * not parse (half-written, or broken) is logged and retried once, and the running revision
 * stays. The directory is watched, so editors that replace the file by rename are seen.
 *
 * The first change seen is always applied, even if the text equals what the gateway started
 * with: an apply of the same config is `unchanged` and costs nothing, whereas remembering the
 * text read at start would miss an edit made between the gateway's read and this watcher's.
 */
export function watchConfigFile(
  file: string,
  apply: (config: unknown) => Promise<unknown>,
  logger: Logger,
  opts: { debounceMs?: number } = {},
): { close(): void; settled(): Promise<void> } {
  const path = resolve(file);
  const name = basename(path);
  const debounce = opts.debounceMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let lastHash: string | undefined;
  let running: Promise<void> = Promise.resolve();
  let retried = false;
  /** Resolves when no apply is scheduled or running; see `settled()`. */
  let idle: Promise<void> = Promise.resolve();
  let release: (() => void) | undefined;

  const run = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    const h = sha256(text);
    if (h === lastHash) return;
    try {
      const config = parseConfigText(text, path);
      await apply(config);
      lastHash = h;
      retried = false;
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [{ path, message: String(err) }];
      logger.error({ file: path, issues }, 'config file change refused; the running revision stays');
      if (!retried) {
        retried = true;
        schedule(debounce * 2);
      } else lastHash = h;
    }
  };
  const settle = () => {
    release?.();
    release = undefined;
  };
  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer);
    if (!release) idle = new Promise<void>((r) => (release = r));
    timer = setTimeout(() => {
      timer = undefined;
      running = running.then(run).finally(() => {
        // A failed parse may have scheduled a retry: stay unsettled until it ran.
        if (!timer) settle();
      });
    }, ms);
    timer.unref();
  };
  const w: FSWatcher = watch(dirname(path), (_event, changed) => {
    if (changed && changed.toString() !== name) return;
    retried = false;
    schedule(debounce);
  });
  w.unref();
  return {
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      settle();
      w.close();
    },
    /** Waits for a scheduled or running apply (not for a change the OS has yet to report). */
    settled: () => idle.then(() => running),
  };
}
