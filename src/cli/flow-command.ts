import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../auth/index.ts';
import { defaultSenders, sendDueCampaigns } from '../campaigns/index.ts';
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
  tick,
  updateFlow,
} from '../flows/index.ts';
import { escalateDueBreaches } from '../service/escalation.ts';
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

/** Runs `job` now and then every `pollMs` until the signal aborts; an error is reported and the loop goes on. */
async function repeatUntilAborted(
  signal: AbortSignal,
  pollMs: number,
  job: () => Promise<void>,
  onError: (error: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    await job().catch(onError);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The background worker: flows, scheduled campaigns and SLA escalation, until `stop()`. */
export type BackgroundWorker = { stop(): Promise<void> };

/**
 * The background worker of `kizuna serve --flows` (KIZUNA_FLOW_WORKER=true) and `kizuna flow run`: flow
 * ticks (step mail to SMTP_URL, tasks, tags), campaigns whose scheduled time has come, and escalation of
 * breached SLA clocks, each looked at every `pollMs` (KIZUNA_FLOW_POLL_MS, default 30 s; flow ticks wake
 * earlier when a step falls due). `stop()` ends the loops and waits for the work in hand.
 */
export function startFlowWorker(
  database: Database,
  log: (line: string) => void = console.log,
  pollMs = Number(process.env.KIZUNA_FLOW_POLL_MS ?? 30_000),
): BackgroundWorker {
  const controller = new AbortController();
  const { signal } = controller;
  const mailer = smtpStepMailer(database);
  const flows = runWorker(database, {
    mailer,
    signal,
    pollMs,
    onTick: (tick) => {
      if (tick.executed > 0 || tick.entered.some((e) => e.entered > 0)) log(`flows: ${summary(tick)}`);
    },
    onError: (error) => log(`flows: tick failed: ${(error as Error).message}`),
  }).finally(() => mailer.close());
  const campaigns = defaultSenders(database);
  const scheduled = repeatUntilAborted(
    signal,
    pollMs,
    async () => {
      for (const sent of await sendDueCampaigns(database, { senders: campaigns.senders })) {
        log(`campaigns: scheduled campaign ${sent.campaignId} sent ${sent.sent} of ${sent.total}`);
      }
    },
    (error) => log(`campaigns: scheduled send failed: ${(error as Error).message}`),
  ).finally(() => campaigns.close());
  const escalation = repeatUntilAborted(
    signal,
    pollMs,
    async () => {
      const escalations = await escalateDueBreaches(database);
      if (escalations.length > 0) log(`service: ${escalations.length} breached SLA clock(s) escalated`);
    },
    (error) => log(`service: escalation failed: ${(error as Error).message}`),
  );
  return {
    async stop() {
      controller.abort();
      await Promise.all([flows, scheduled, escalation]);
    },
  };
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
      'run the background worker until stopped (Ctrl-C): flow steps (mails to SMTP_URL), scheduled campaigns, SLA escalation',
    )
    .option('--poll <seconds>', 'the longest sleep between ticks', positiveInteger, 30)
    .option('--once', 'one tick, then exit')
    .action((options: { poll: number; once?: boolean }) =>
      withDatabase(async (database) => {
        if (options.once) {
          const mailer = smtpStepMailer(database);
          try {
            console.log(summary(await tick(database, { mailer })));
          } finally {
            await mailer.close();
          }
          return;
        }
        const worker = startFlowWorker(database, console.log, options.poll * 1000);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await worker.stop();
      }),
    );
}
