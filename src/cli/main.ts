#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { ConfigDiff } from '../core/diff.js';
import { ConfigError } from '../core/errors.js';
import type { RevisionMeta } from '../store/store.js';
import { AdminCallError, adminCall, adminTarget } from './client.js';
import { registerCredentialCommands } from './credentials.js';

// `portcullis diff 1 2 | head -1`: when the reader closes the pipe, stop quietly, as other Unix
// tools do, for every command (not a stack trace on stderr and exit 1).
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });

// The gateway, the compiler and the policies are imported by the commands that need them, so
// that the admin commands (revisions, diff, apply...) start in a fraction of the time.
const renderDiff = async (d: ConfigDiff) => (await import('../core/diff.js')).renderDiff(d);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const program = new Command('portcullis').description(
  'API and AI gateway with safe, revisioned security policy',
);

const withAdmin = (c: Command) =>
  c
    .option('--admin-url <url>', 'admin API of the running gateway (env PORTCULLIS_ADMIN_URL)', undefined)
    .option(
      '--admin-token-file <file>',
      'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)',
    );

program
  .command('start')
  .description(
    "start the gateway: on the store's active revision, or --config FILE (docs/operations.md); an empty data dir with no --config gets the example config and its demo upstream",
  )
  .option(
    '-c, --config <file>',
    'YAML or JSON config (applied at start only if it changed: see --from-store, --force-config)',
  )
  .option('--from-store', "never apply --config at start: serve the store's active revision")
  .option('--force-config', 'apply --config at start even over changes made through the admin API')
  .option('-p, --port <port>', 'data plane port', '8080')
  .option('--host <host>', 'data plane address', '0.0.0.0')
  .option('--admin-port <port>', 'admin API port', '8081')
  .option('--admin-host <host>', 'admin API address', '127.0.0.1')
  .option('--admin-token-file <file>', 'file holding the admin token (default: env PORTCULLIS_ADMIN_TOKEN)')
  .option('--data-dir <dir>', 'directory of the SQLite store (locked while the gateway runs)', 'data')
  .option('--no-watch', 'do not re-apply the config file when it changes')
  .option('--redis-url <url>', 'share rate-limit counters and bans in Redis (env PORTCULLIS_REDIS_URL)')
  .option(
    '--https-port <port>',
    'also serve the data plane over HTTPS on this port (needs --tls-cert and --tls-key)',
  )
  .option('--tls-cert <file>', 'PEM certificate (chain) of the HTTPS listener (re-read on SIGHUP)')
  .option('--tls-key <file>', 'PEM private key of the HTTPS listener (re-read on SIGHUP)')
  .option('--tls-ca <file...>', 'PEM CA file(s) that client certificates must chain to (mtls-auth)')
  .option(
    '--audit-key-file <file>',
    'HMAC key of the audit chain, kept out of the store (env PORTCULLIS_AUDIT_KEY_FILE); repeat: the first signs, later ones (earlier keys) only verify',
    collect,
    [],
  )
  .option(
    '--audit-sink <sink>',
    'also copy every audit event to file:PATH (append-only) or POST it to an http(s):// URL (env PORTCULLIS_AUDIT_SINK); repeatable',
    collect,
    [],
  )
  .action(async (o) => {
    if (o.httpsPort !== undefined && (!o.tlsCert || !o.tlsKey))
      fail(new Error('--https-port needs --tls-cert and --tls-key'));
    if (o.fromStore && o.forceConfig) fail(new Error('--from-store and --force-config exclude each other'));
    if (o.forceConfig && !o.config) fail(new Error('--force-config needs --config'));
    const { Gateway } = await import('../gateway.js');
    const { readAuditKeyFile } = await import('../store/audit-keys.js');
    const token = o.adminTokenFile
      ? readFileSync(o.adminTokenFile, 'utf8').trim()
      : process.env.PORTCULLIS_ADMIN_TOKEN;
    const keyFiles: string[] = o.auditKeyFile.length
      ? o.auditKeyFile
      : process.env.PORTCULLIS_AUDIT_KEY_FILE
        ? [process.env.PORTCULLIS_AUDIT_KEY_FILE]
        : [];
    let keys: Buffer[] = [];
    try {
      keys = keyFiles.map((f) => readAuditKeyFile(f).secret);
    } catch (err) {
      fail(err);
    }
    const sinks: string[] = o.auditSink.length
      ? o.auditSink
      : process.env.PORTCULLIS_AUDIT_SINK
        ? [process.env.PORTCULLIS_AUDIT_SINK]
        : [];
    const example = join(root, 'examples', 'gateway.yaml');
    let gw: InstanceType<typeof Gateway>;
    try {
      // Takes the data dir first: a second start on it stops here, having written nothing.
      gw = new Gateway({
        configFile: o.config,
        exampleFile: example,
        startMode: o.fromStore ? 'store' : o.forceConfig ? 'force' : 'auto',
        lockDataDir: true,
        watch: o.watch,
        port: Number(o.port),
        host: o.host,
        adminPort: Number(o.adminPort),
        adminHost: o.adminHost,
        adminToken: token,
        dataDir: o.dataDir,
        redisUrl: o.redisUrl ?? (process.env.PORTCULLIS_REDIS_URL || undefined),
        auditKey: keys[0],
        auditPreviousKeys: keys.slice(1),
        auditSinks: sinks,
        tls:
          o.httpsPort === undefined
            ? undefined
            : { port: Number(o.httpsPort), certFile: o.tlsCert, keyFile: o.tlsKey, caFiles: o.tlsCa },
      });
    } catch (err) {
      fail(err);
    }
    // Registered before anything slow (Node's default for SIGHUP is to exit, and a SIGTERM during
    // start must still stop gracefully): signals wait for the start, then act in order.
    let markStarted = () => {};
    let started: Promise<unknown> = new Promise<void>((r) => {
      markStarted = r;
    });
    let stopping = false;
    process.on('SIGHUP', () => {
      if (!stopping) started = started.then(() => gw.reload('SIGHUP'));
    });
    const stop = () => {
      if (stopping) return; // a repeated signal does not cut the drain short
      stopping = true;
      void started
        .then(() => gw.stop())
        .then(
          () => process.exit(0),
          (err) => fail(err),
        );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      if (!o.config && !o.fromStore && (await gw.store.getActiveRevisionId()) === undefined) {
        const { startDemoUpstream } = await import('../demo/upstream.js');
        const demo = await startDemoUpstream(9000);
        process.stderr.write(`demo upstream listening on 127.0.0.1:${demo.port}\n`);
      }
      const { port, adminPort } = await gw.start();
      if (gw.httpsPort !== undefined)
        process.stderr.write(`portcullis: HTTPS proxy on ${o.host}:${gw.httpsPort}\n`);
      process.stderr.write(
        `portcullis: proxy on ${o.host}:${port}, admin API on ${o.adminHost}:${adminPort}, revision ${gw.revisions.active?.id}\n`,
      );
      if (gw.generatedAdminToken)
        process.stderr.write(`admin token (generated, shown once): ${gw.generatedAdminToken}\n`);
      markStarted();
    } catch (err) {
      fail(err);
    }
  });

program
  .command('validate <file>')
  .description('validate and compile a config without starting anything; exit 1 with every error')
  .action(async (file: string) => {
    try {
      const [
        { readConfigFile },
        { systemClock },
        { checkOnly },
        { offlineServices },
        { createLogger },
        { policyRegistry },
      ] = await Promise.all([
        import('../config/load.js'),
        import('../core/clock.js'),
        import('../runtime/compile.js'),
        import('../runtime/services.js'),
        import('../observability/logger.js'),
        import('../policies/index.js'),
      ]);
      const logger = createLogger({ level: 'silent' });
      const issues = checkOnly(readConfigFile(file), {
        registry: policyRegistry(),
        clock: systemClock,
        logger,
        services: offlineServices(systemClock, logger),
      });
      if (issues.length) throw new ConfigError(issues);
      process.stdout.write(`${file}: valid\n`);
    } catch (err) {
      fail(err);
    }
  });

withAdmin(program.command('revisions').description('list revisions of the running gateway'))
  .option('--json', 'print JSON')
  .action(async (o) => {
    const r = (await call(o, 'GET', '/revisions')) as { active: number; revisions: RevisionMeta[] };
    if (o.json) return print(r);
    for (const v of r.revisions)
      process.stdout.write(
        `${v.id === r.active ? '*' : ' '} ${String(v.id).padStart(4)}  ${v.hash.slice(0, 12)}  ${v.createdAt}  ${v.author}  ${v.message}\n`,
      );
  });

withAdmin(
  program
    .command('diff [a] [b]')
    .description(
      'structured diff between two revisions, or with --live FILE between the running revision and a file',
    ),
)
  .option('--json', 'print JSON')
  .option('--live <file>', 'diff a config file against the running revision (a dry-run apply)')
  .action(async (a: string | undefined, b: string | undefined, o) => {
    if (o.live) return (await import('./gitops.js')).diffLive(o.live, o);
    if (!a || !b) fail(new Error('give two revision ids, or --live FILE'));
    const d = (await call(o, 'GET', `/revisions/${enc(a)}/diff/${enc(b)}`)) as ConfigDiff;
    if (o.json) print(d);
    else process.stdout.write(`${await renderDiff(d)}\n`);
  });

withAdmin(program.command('rollback <id>').description('re-activate an earlier revision')).action(
  async (id: string, o) => {
    const r = (await call(o, 'POST', `/revisions/${enc(id)}/rollback`)) as { revision: RevisionMeta };
    process.stdout.write(`rolled back to revision ${r.revision.id} (${r.revision.hash.slice(0, 12)})\n`);
  },
);

withAdmin(program.command('apply <file>').description('apply a config file to the running gateway'))
  .option('--dry-run', 'validate, compile and print the diff without activating')
  .option('-m, --message <text>', 'why: recorded with the revision')
  .option('--json', 'print JSON')
  .option('--replay <since>', 'replay recorded traffic of this period (24h) against the file first')
  .option('--fail-on-newly-denied <rate>', 'with --replay: do not apply, exit 3, above this share (0.1%)')
  .action(async (file: string, o) => {
    if (o.replay) return (await import('./gitops.js')).applyWithReplay(file, o);
    const text = readFileSync(resolve(file), 'utf8');
    const q = new URLSearchParams();
    if (o.dryRun) q.set('dry_run', 'true');
    if (o.message) q.set('message', o.message);
    const r = (await call(o, 'POST', `/config?${q}`, text, {
      'content-type': 'application/yaml',
    })) as {
      status: string;
      revision?: RevisionMeta;
      diff: ConfigDiff;
    };
    if (o.json) return print(r);
    process.stdout.write(
      `${r.status}${r.revision ? `: revision ${r.revision.id} (${r.revision.hash.slice(0, 12)})` : ''}\n${await renderDiff(r.diff)}\n`,
    );
  });

async function call(
  o: { adminUrl?: string; adminTokenFile?: string },
  method: string,
  path: string,
  body?: string,
  headers?: Record<string, string>,
) {
  try {
    return await adminCall(adminTarget(o), method, path, body, headers);
  } catch (err) {
    fail(err);
  }
}

function collect(v: string, all: string[]): string[] {
  return [...all, v];
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function print(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(
      `configuration refused (${err.issues.length} error${err.issues.length === 1 ? '' : 's'}):\n`,
    );
    for (const i of err.issues) process.stderr.write(`  ${i.path}: ${i.message}\n`);
  } else if (err instanceof AdminCallError) {
    process.stderr.write(`error ${err.status} ${err.body.error?.code ?? ''}: ${err.message}\n`);
    for (const i of err.body.error?.issues ?? []) process.stderr.write(`  ${i.path}: ${i.message}\n`);
  } else process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
}

registerCredentialCommands(program);
(await import('./bans.js')).registerBanCommands(program);
(await import('./replay.js')).registerReplayCommand(program);
(await import('./import-openapi.js')).registerImportOpenApiCommand(program);
(await import('./audit.js')).registerAuditCommands(program);
(await import('./canary.js')).registerCanaryCommands(program);
(await import('./proposals.js')).registerProposalCommands(program);
(await import('./admins.js')).registerAdminCommands(program);
program.parseAsync().catch(fail);
