import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { sha256 } from '../core/canonical.js';
import { ConfigError } from '../core/errors.js';
import { parseConfigText } from './load.js';

/**
 * Watches a config file and applies it when it changes. Changes are debounced; a file that does
 * not parse (half-written, or broken) is logged and retried once, and the running revision
 * stays. The directory is watched, so editors that replace the file by rename are seen.
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
  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(run);
    }, ms);
    timer.unref();
  };
  void readFile(path, 'utf8').then(
    (t) => {
      lastHash = sha256(t);
    },
    () => undefined,
  );
  const w: FSWatcher = watch(dirname(path), (_event, changed) => {
    if (changed && changed.toString() !== name) return;
    retried = false;
    schedule(debounce);
  });
  w.unref();
  return {
    close() {
      if (timer) clearTimeout(timer);
      w.close();
    },
    settled: () => running,
  };
}
