import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { RevisionMeta, Store } from '../store/store.js';
import type { ApplyResult, Revisions } from '../runtime/revisions.js';

/**
 * How the `--config` file is treated at start (docs/operations.md):
 * - `auto`: applied when the store is empty, or when the file changed since it last produced a
 *   revision and the store's active revision is still that one; kept out when it did not change
 *   (the store's active revision, maybe changed through the admin API, is served); start is
 *   refused when the file changed AND the active revision came from elsewhere.
 * - `store`: never applied at start: the store's active revision is served.
 * - `force`: always applied, over whatever the store holds (loudly).
 */
export type StartMode = 'auto' | 'store' | 'force';

/** What the store remembers of the file: the revision it last produced. */
interface FileMark {
  file: string;
  hash: string;
  revision: number;
}

const KEY = 'config-file';

/** Refused at start: applying the file would revert changes made through the admin API. */
export class StartRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartRefusedError';
  }
}

/** Outcome of a file apply; `kept`: the file did not change and the store's revision stays. */
export type FileApply = ApplyResult | { status: 'kept'; revision: RevisionMeta | undefined };

/**
 * The config file as a source of revisions: at start, on a file change (the watcher) and on
 * SIGHUP. It remembers in the store which revision the file last produced, so that a restart or
 * a reload with an unchanged file never reverts what was changed through the admin API since.
 */
export class ConfigFileSource {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    file: string,
    private readonly revisions: Revisions,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {
    this.path = resolve(file);
  }

  /** At start, after the store's active revision was loaded. */
  async boot(config: unknown, mode: StartMode, author: string): Promise<FileApply> {
    const active = this.revisions.active;
    const message = `start: ${this.path}`;
    if (mode === 'store') {
      if (!active)
        throw new StartRefusedError(
          '--from-store: the store has no active revision to serve; start with --config',
        );
      return this.keep(active, 'started with --from-store: the file is applied when it changes');
    }
    const mark = await this.mark();
    const hash = await this.candidateHash(config);
    if (!active || mode === 'auto') {
      const verdict = active ? this.judge(hash, active, mark) : 'apply';
      if (verdict === 'keep')
        return this.keep(active, 'config file unchanged since it produced its last revision');
      if (verdict === 'refuse') throw new StartRefusedError(refusal(this.path, active!, mark));
    } else if (hash !== active.hash && mark?.hash !== active.hash) {
      this.logger.warn(
        { file: this.path, replaced: active.id, author: active.author },
        '--force-config: applying the config file over the active revision, which it did not produce: changes made through the admin API since are replaced',
      );
    }
    return this.applyNow(config, author, message);
  }

  /**
   * On a file change or SIGHUP: the file is applied when it changed since it last produced a
   * revision; unchanged, the active revision stays (an admin change is not reverted by a
   * `touch`), except that the same revision is recompiled when secret values changed.
   */
  applyIfChanged(config: unknown, author: string, message: string): Promise<FileApply> {
    const run = this.queue.then(async () => {
      const [mark, hash] = [await this.mark(), await this.candidateHash(config)];
      const active = this.revisions.active;
      if (active && mark && hash === mark.hash && active.hash !== mark.hash)
        return this.keep(active, 'config file unchanged since it produced its last revision');
      return this.applyNow(config, author, message);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `apply`, `keep` or `refuse` at start in `auto` mode, given a store with an active revision. */
  private judge(hash: string, active: RevisionMeta, mark: FileMark | undefined): 'apply' | 'keep' | 'refuse' {
    if (hash === active.hash) return 'apply'; // the same revision: unchanged (or secrets reloaded)
    if (mark && hash === mark.hash) return 'keep'; // the file did not change; the store did
    if (mark && active.hash === mark.hash) return 'apply'; // the file changed; the store did not
    return 'refuse';
  }

  private async applyNow(config: unknown, author: string, message: string): Promise<ApplyResult> {
    const r = await this.revisions.apply(config, { author, message });
    if (r.revision) {
      const mark: FileMark = { file: this.path, hash: r.revision.hash, revision: r.revision.id };
      await this.store.setState(KEY, JSON.stringify(mark));
    }
    return r;
  }

  private keep(active: RevisionMeta | undefined, why: string): FileApply {
    this.logger.info(
      { file: this.path, revision: active?.id, hash: active?.hash },
      `${why}; serving revision ${active?.id} from the store`,
    );
    return { status: 'kept', revision: active };
  }

  private async candidateHash(config: unknown): Promise<string> {
    const r = await this.revisions.apply(config, { author: 'startup', dryRun: true });
    return r.hash!;
  }

  private async mark(): Promise<FileMark | undefined> {
    const raw = await this.store.getState(KEY);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as FileMark;
    } catch {
      return undefined;
    }
  }
}

function refusal(file: string, active: RevisionMeta, mark: FileMark | undefined): string {
  const origin = `revision ${active.id} (by ${active.author}${active.message ? `: ${active.message}` : ''})`;
  const since = mark
    ? `the file changed since it produced revision ${mark.revision}, and the active revision is now ${origin}`
    : `the store's active revision is ${origin}, which the file did not produce`;
  return `refusing to apply ${file} at start: ${since}; applying it would revert that change. Start with --from-store to serve revision ${active.id} (the file is applied when it next changes), or with --force-config to apply the file over it.`;
}
