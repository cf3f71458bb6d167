import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../auth/index.ts';
import { defaultSenders, runCampaignScheduler } from '../campaigns/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import {
  BUILTIN_FLOWS,
  builtinFlow,
  createFlow,
  enableBuiltinFlow,
  flowReport,
  getFlow,
  listFlows,
  renderFlowReport,
  runWorker,
  setFlowEnabled,
  smtpStepMailer,
  type TickResult,
  updateFlow,
} from '../flows/index.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable } from './output.ts';

async function definitionFile(path: string): Promise<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('must hold one JSON object');
    return parsed;
  } catch (error) {
    throw new KizunaError('invalid_definition', `--definition ${path}: ${(error as Error).message}`);
  }
}

/** A flow given by id or name, or a built-in key (installed on first use). */
async function flowKey(database: Database, key: string) {
  if (BUILTIN_FLOWS.some((b) => b.key === key)) {
    const row = await database.db
      .selectFrom('flows')
      .select('id')
      .where('builtin', '=', key)
      .executeTakeFirst();
    if (row) return Number(row.id);
  }
  return (await getFlow(database, key)).id;
}

const summary = (tick: TickResult) => {
  const entered = tick.entered.filter((e) => e.entered > 0).map((e) => `${e.name} +${e.entered}`);
  const lags = [...tick.lags].sort((a, b) => a - b);
  const p99 = lags.length ? lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))]! : 0;
  return `${new Date().toISOString()} entered: ${entered.join(', ') || 'none'}; steps run ${tick.executed}, retried ${tick.retried}; p99 lag ${(p99 / 1000).toFixed(1)} s`;
};

/**
 * The in-process flow worker for `kizuna serve` (KIZUNA_FLOW_WORKER=true): ticks until the signal aborts.
 * E-mails go to SMTP_URL.
 */
export function startFlowWorker(
  database: Database,
  log: (line: string) => void = console.log,
): AbortController {
  const controller = new AbortController();
  const mailer = smtpStepMailer(database);
  void runWorker(database, {
    mailer,
    signal: controller.signal,
    pollMs: Number(process.env.KIZUNA_FLOW_POLL_MS ?? 30_000),
    onTick: (tick) => {
      if (tick.executed > 0 || tick.entered.some((e) => e.entered > 0)) log(`flows: ${summary(tick)}`);
    },
    onError: (error) => log(`flows: tick failed: ${(error as Error).message}`),
  }).finally(() => mailer.close());
  // Campaigns with a scheduled time are sent by the same worker process when their time comes.
  const campaigns = defaultSenders(database);
  void runCampaignScheduler(database, {
    senders: campaigns.senders,
    signal: controller.signal,
    pollMs: Number(process.env.KIZUNA_FLOW_POLL_MS ?? 30_000),
    onSent: (sent) =>
      log(`campaigns: scheduled campaign ${sent.campaignId} sent ${sent.sent} of ${sent.total}`),
    onError: (error) => log(`campaigns: scheduled send failed: ${(error as Error).message}`),
  }).finally(() => campaigns.close());
  return controller;
}

/** `kizuna flow …`: list, show, create, update, enable, disable, builtin, report, run (the worker). */
export function registerFlowCommand(program: Command): void {
  const flow = program
    .command('flow')
    .description('flows: step mail and automated follow-up (docs/flows.md)');

  flow
    .command('list')
    .description('the flows and the built-in flows')
    .action(() =>
      withDatabase(async (database) => {
        const flows = await listFlows(database);
        console.log(
          formatTable(
            ['id', 'name', 'on', 'version', 'trigger', 'steps', 'built-in'],
            flows.map((f) => [
              f.id,
              f.name,
              f.enabled ? 'yes' : 'no',
              f.currentVersion,
              f.definition.trigger.type,
              f.definition.steps.length,
              f.builtin ?? '',
            ]),
          ),
        );
        const installed = new Set(flows.map((f) => f.builtin));
        const missing = BUILTIN_FLOWS.filter((b) => !installed.has(b.key));
        if (missing.length > 0) {
          console.log(
            `\nbuilt-in flows to switch on (kizuna flow enable <key>): ${missing.map((b) => b.key).join(', ')}`,
          );
        }
      }),
    );

  flow
    .command('show <flow>')
    .description('a flow (id, name or built-in key) with its definition as JSON')
    .action((key: string) =>
      withDatabase(async (database) => {
        const builtin = BUILTIN_FLOWS.find((b) => b.key === key);
        const shown =
          builtin &&
          !(await database.db.selectFrom('flows').select('id').where('builtin', '=', key).executeTakeFirst())
            ? {
                builtin: builtin.key,
                name: builtin.name,
                description: builtin.description,
                installed: false,
                definition: builtin.definition,
              }
            : await getFlow(database, await flowKey(database, key));
        console.log(JSON.stringify(shown, null, 2));
      }),
    );

  flow
    .command('create <name>')
    .description('create a flow (switched off) from a JSON definition file')
    .requiredOption('--definition <file>', 'JSON: {trigger, steps, goal, holdoutShare}')
    .option('--description <text>')
    .action((name: string, options: { definition: string; description?: string }) =>
      withDatabase(async (database) => {
        const definition = await definitionFile(options.definition);
        const created = await createFlow(
          database,
          { name, description: options.description, definition },
          CLI_ACTOR,
        );
        console.log(
          `flow ${created.id} "${created.name}" created (off); switch on with: kizuna flow enable ${created.id}`,
        );
      }),
    );

  flow
    .command('update <flow>')
    .description('a new version from a JSON definition file (customers already in the flow finish on theirs)')
    .requiredOption('--definition <file>')
    .action((key: string, options: { definition: string }) =>
      withDatabase(async (database) => {
        const definition = await definitionFile(options.definition);
        const updated = await updateFlow(database, await flowKey(database, key), { definition }, CLI_ACTOR);
        console.log(`flow ${updated.id} "${updated.name}" is at version ${updated.currentVersion}`);
      }),
    );

  flow
    .command('enable <flow>')
    .description(`switch a flow on (id, name, or a built-in: ${BUILTIN_FLOWS.map((b) => b.key).join(', ')})`)
    .action((key: string) =>
      withDatabase(async (database) => {
        const on = BUILTIN_FLOWS.some((b) => b.key === key)
          ? await enableBuiltinFlow(database, builtinFlow(key).key, CLI_ACTOR)
          : await setFlowEnabled(database, await flowKey(database, key), true);
        console.log(
          `flow ${on.id} "${on.name}" is on (version ${on.currentVersion}); run the worker: kizuna flow run`,
        );
      }),
    );

  flow
    .command('disable <flow>')
    .description('switch a flow off: nobody new enters; customers in it finish their path')
    .action((key: string) =>
      withDatabase(async (database) => {
        const off = await setFlowEnabled(database, await flowKey(database, key), false);
        console.log(`flow ${off.id} "${off.name}" is off`);
      }),
    );

  flow
    .command('report <flow>')
    .description('per step: entered, waiting, sent, suppressed (reasons), failed; goal vs holdout')
    .option('--json', 'the report as JSON')
    .action((key: string, options: { json?: boolean }) =>
      withDatabase(async (database) => {
        const report = await flowReport(database, await flowKey(database, key));
        console.log(options.json ? JSON.stringify(report, null, 2) : renderFlowReport(report));
      }),
    );

  flow
    .command('run')
    .description(
      'run the flow worker: scan triggers and run due steps, until stopped (Ctrl-C); mails go to SMTP_URL',
    )
    .option('--poll <seconds>', 'the longest sleep between ticks', positiveInteger, 30)
    .option('--once', 'one tick, then exit')
    .action((options: { poll: number; once?: boolean }) =>
      withDatabase(async (database) => {
        const mailer = smtpStepMailer(database);
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await runWorker(database, {
            mailer,
            signal: controller.signal,
            pollMs: options.poll * 1000,
            onTick: (tick) => {
              console.log(summary(tick));
              if (options.once) controller.abort();
            },
            onError: (error) => console.error(`tick failed: ${(error as Error).message}`),
          });
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await mailer.close();
        }
      }),
    );
}
