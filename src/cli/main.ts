import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  type Database,
  databaseConfigFromEnv,
  migrateToLatest,
  migrationStatus,
  openDatabase,
  restoreDatabase,
} from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { KIND_NAMES, type KindName, openFileSource, type RecordSource } from '../importer/index.ts';
import { registerAccountCommands } from './accounts-command.ts';
import { registerAnalyticsCommands } from './analytics-command.ts';
import { registerCampaignCommand } from './campaign-command.ts';
import { registerCampaignReportCommand } from './campaign-report-command.ts';
import { registerClvCommand } from './clv-command.ts';
import { registerCustomerCommand } from './customer-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerFlowCommand } from './flow-command.ts';
import {
  formatImportErrors,
  formatImportSummary,
  type ImportCommandOptions,
  importWithProgress,
  kindFilesIn,
  writeErrorReport,
} from './import-command.ts';
import { formatTable } from './output.ts';
import { registerPrivacyCommand } from './privacy-command.ts';
import { registerSegmentCommand } from './segment-command.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerSlaCommand } from './sla-command.ts';
import { registerTicketCommand } from './ticket-command.ts';

/** Exit codes: 0 done, 1 the user's input was refused (message says why), 2 an internal error. */
export const EXIT = { ok: 0, user: 1, internal: 2 } as const;

/** Opens the configured database, brings the schema up to date, runs `work`, and closes it. */
export async function withDatabase<T>(work: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(databaseConfigFromEnv());
  try {
    await migrateToLatest(database);
    return await work(database);
  } finally {
    await database.close();
  }
}

export const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

function buildProgram(): Command {
  const program = new Command('kizuna')
    .description(
      'Kizuna (絆) — the relationship-marketing CRM. Configuration comes from DATABASE_URL, KIZUNA_DATA_DIR, PORT.',
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description('create the database (./data by default, or DATABASE_URL) and bring its schema up to date')
    .action(async () => {
      await withDatabase(async (database) => {
        const applied = await migrateToLatest(database);
        console.log(
          `${database.description}: ready (${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'})`,
        );
      });
    });

  const db = program.command('db').description('database maintenance');
  db.command('migrate')
    .description('apply pending migrations')
    .action(async () => {
      const database = await openDatabase(databaseConfigFromEnv());
      try {
        const applied = await migrateToLatest(database);
        console.log(
          applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the schema is up to date',
        );
      } finally {
        await database.close();
      }
    });
  db.command('status')
    .description('list migrations and whether they are applied')
    .action(async () => {
      const database = await openDatabase(databaseConfigFromEnv());
      try {
        const status = await migrationStatus(database);
        console.log(database.description);
        console.log(
          formatTable(
            ['migration', 'applied at'],
            status.map((m) => [m.name, m.executedAt?.toISOString() ?? 'pending']),
          ),
        );
      } finally {
        await database.close();
      }
    });
  db.command('backup')
    .argument('<file>', 'where to write the backup (a .tar.gz of the embedded data directory)')
    .description('write a consistent backup of the embedded database (PostgreSQL: use pg_dump)')
    .action(async (file: string) => {
      await withDatabase(async (database) => {
        await database.backup(file);
        console.log(`backup written to ${file}`);
      });
    });
  db.command('restore')
    .argument('<file>', 'a backup written by `kizuna db backup`')
    .description('create the embedded database in KIZUNA_DATA_DIR (must be empty) from a backup')
    .action(async (file: string) => {
      const database = await restoreDatabase(databaseConfigFromEnv(), file);
      try {
        await migrateToLatest(database);
        console.log(`restored ${file} into ${database.description}`);
      } finally {
        await database.close();
      }
    });

  program
    .command('import')
    .description(
      `import a CSV or JSON Lines file: kind is one of ${KIND_NAMES.join(', ')}; or "all" with a directory holding files named after the kinds`,
    )
    .argument('<kind>', `${KIND_NAMES.join('|')}|all`)
    .argument('<file>', 'the file (or, with "all", the directory)')
    .option('--dry-run', 'validate and count, write nothing')
    .option('--strict', 'write nothing unless every row is valid')
    .option(
      '--create-missing',
      'create unknown customers, products, stores and staff referenced by rows instead of refusing the rows',
    )
    .option(
      '--timezone <zone>',
      'time zone of times written without an offset',
      process.env.KIZUNA_TIMEZONE ?? 'UTC',
    )
    .option('--batch-size <rows>', 'rows per transaction', positiveInteger, 20000)
    .option('--errors <file>', 'write every refused row to this CSV file')
    .option('--verbose', 'print a line as each batch commits')
    .action(async (kind: string, file: string, options: ImportCommandOptions & { timezone: string }) => {
      const jobs: { kind: KindName; path: string }[] =
        kind === 'all' ? await kindFilesIn(file) : [{ kind: kind as KindName, path: file }];
      if (kind !== 'all' && !KIND_NAMES.includes(kind as KindName)) {
        throw new KizunaError(
          'unknown_kind',
          `unknown kind '${kind}': use one of ${KIND_NAMES.join(', ')}, or all`,
        );
      }
      const sources: { kind: KindName; source: RecordSource }[] = [];
      for (const job of jobs) sources.push({ kind: job.kind, source: await openFileSource(job.path) });
      const results = await withDatabase(async (database) => {
        const done = [];
        for (const { kind: k, source } of sources) {
          done.push(
            await importWithProgress(database, k, source, { ...options, timeZone: options.timezone }),
          );
        }
        return done;
      });
      console.log(formatImportSummary(results));
      const errors = formatImportErrors(results);
      if (errors) console.error(`\n${errors}`);
      if (options.errors) {
        await writeErrorReport(options.errors, results);
        console.error(`error report: ${options.errors}`);
      }
      if (results.some((r) => r.errorCount > 0)) process.exitCode = EXIT.user;
    });

  registerDemoCommand(program);
  registerCustomerCommand(program);
  registerServeCommand(program);
  registerClvCommand(program);
  registerAnalyticsCommands(program);
  registerPrivacyCommand(program);
  registerAccountCommands(program);
  registerSegmentCommand(program);
  registerTicketCommand(program);
  registerSlaCommand(program);
  registerCampaignCommand(program);
  registerCampaignReportCommand(program);
  registerFlowCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.user;
    }
    if (error instanceof KizunaError) {
      console.error(`kizuna: ${error.message}`);
      return EXIT.user;
    }
    console.error(`kizuna: internal error: ${(error as Error).stack ?? error}`);
    return EXIT.internal;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bin/kizuna.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
