import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../auth/index.ts';
import {
  assignCampaign,
  type Campaign,
  callList,
  callListCsv,
  campaignLetters,
  cloneCampaign,
  createCampaign,
  defaultSenders,
  getCampaign,
  lettersCsv,
  lettersPdf,
  listCampaigns,
  previewCampaign,
  readContactPolicy,
  sendCampaign,
  updateContactPolicy,
} from '../campaigns/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable, startProgress } from './output.ts';

const idArgument = (value: string): number => {
  if (!/^[1-9]\d{0,14}$/.test(value)) throw new KizunaError('invalid_id', `${value}: not a campaign id`);
  return Number(value);
};

async function jsonFile(path: string): Promise<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new KizunaError('invalid_file', `${path}: ${(error as Error).message}`);
  }
}

type CreateOptions = {
  file?: string;
  name?: string;
  channel?: string;
  purpose?: string;
  segment?: string;
  snapshot?: number;
  subject?: string;
  body?: string;
  offer?: string;
  holdout?: string;
  seed?: number;
  cost?: string;
  budget?: string;
  fallback?: string;
  previous?: number;
};

/** The campaign input from a JSON file, overridden by the flags given. */
async function createInput(o: CreateOptions): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = o.file ? await jsonFile(o.file) : {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) input[key] = value;
  };
  set('name', o.name);
  set('channel', o.channel);
  set('purpose', o.purpose);
  if (o.segment !== undefined) input.audience = { segment: o.segment };
  if (o.snapshot !== undefined) input.audience = { snapshotId: o.snapshot };
  if (o.subject !== undefined || o.body !== undefined || o.offer !== undefined) {
    input.variants = [{ code: 'A', subject: o.subject, bodyText: o.body, offer: o.offer }];
  }
  set('holdoutShare', o.holdout === undefined ? undefined : Number(o.holdout));
  set('seed', o.seed);
  set('costPerTouch', o.cost);
  set('budget', o.budget);
  set('fallbackChannel', o.fallback);
  set('previousCampaignId', o.previous);
  return input;
}

function printCampaign(c: Campaign): void {
  console.log(`campaign ${c.id}: ${c.name} (${c.channel}, ${c.purpose}) — ${c.status}`);
  if (c.description) console.log(c.description);
  const goal =
    c.goal.kind === 'any'
      ? 'any purchase'
      : c.goal.kind === 'category'
        ? `a purchase in ${c.goal.category}`
        : `a purchase of product ${c.goal.productIds.join(', ')}`;
  console.log(`goal: ${goal} within ${c.goal.windowDays} days`);
  console.log(
    `audience: ${c.segmentId !== null ? `segment ${c.segmentId}` : ''}${c.snapshotId !== null ? ` snapshot ${c.snapshotId}` : ''}; holdout ${(c.holdoutShare * 100).toFixed(1)} %, seed ${c.seed}`,
  );
  console.log(
    `cost per touch ${c.costPerTouch}${c.budget ? `, budget ${c.budget}` : ''}${c.fallbackChannel ? `, fallback ${c.fallbackChannel}` : ''}${c.previousCampaignId ? `, compared with campaign ${c.previousCampaignId}` : ''}`,
  );
  console.log(
    formatTable(
      ['variant', 'weight', 'subject', 'offer'],
      c.variants.map((v) => [v.code, v.weight, v.subject ?? '', v.offer ?? '']),
    ),
  );
  const states = Object.entries(c.recipients);
  if (states.length) console.log(`recipients: ${states.map(([s, n]) => `${s} ${n}`).join(', ')}`);
}

async function runSend(
  database: Database,
  id: number,
  options: { rate?: number; resume?: boolean; smtpUrl?: string; quiet?: boolean },
) {
  const campaign = await getCampaign(database, id);
  const usesEmail =
    campaign.channel === 'email' || campaign.channel === 'newsletter' || campaign.fallbackChannel;
  const smtpUrl = options.smtpUrl ?? process.env.SMTP_URL;
  if (usesEmail && !smtpUrl) {
    throw new KizunaError(
      'no_smtp',
      'Set SMTP_URL (or --smtp-url), e.g. smtp://127.0.0.1:2525 — the catcher `kizuna serve` runs when SMTP_URL is unset',
    );
  }
  const senders = defaultSenders(database, { smtpUrl });
  const bar = options.quiet ? null : startProgress('send');
  try {
    return await sendCampaign(database, CLI_ACTOR, id, {
      senders: senders.senders,
      ratePerSecond: options.rate,
      resume: options.resume,
      onProgress: (p) => bar?.update(p.done, p.total, `sent ${p.sent}, refused ${p.suppressed}`),
    });
  } finally {
    bar?.stop();
    await senders.close();
  }
}

/** `kizuna campaign …`: create, list, show, clone, preview, send, call lists and letters from the shell. */
export function registerCampaignCommand(program: Command): void {
  const campaign = program
    .command('campaign')
    .description('measured campaigns: e-mail, letters, calls, newsletters');

  campaign
    .command('create')
    .description('create a draft campaign (from a JSON file and/or flags)')
    .option('--file <json>', 'the campaign as JSON (see docs/campaigns.md)')
    .option('--name <name>')
    .option('--channel <channel>', 'email | letter | phone | newsletter')
    .option('--purpose <purpose>', 'marketing | follow_up | sales')
    .option('--segment <id or name>', 'the saved segment to send to (snapshotted on assignment)')
    .option('--snapshot <id>', 'or an existing segment snapshot', positiveInteger)
    .option('--subject <template>')
    .option('--body <template>', 'the text (Liquid template)')
    .option('--offer <text>')
    .option('--holdout <share>', 'holdout share, e.g. 0.1')
    .option('--seed <n>', 'the assignment seed', positiveInteger)
    .option('--cost <amount>', 'cost per touch')
    .option('--budget <amount>')
    .option('--fallback <channel>', 'letter campaigns: email for customers refused a letter for their tier')
    .option('--previous <id>', 'the campaign this one is compared with', positiveInteger)
    .action(async (o: CreateOptions) => {
      const input = await createInput(o);
      await withDatabase(async (database) => printCampaign(await createCampaign(database, CLI_ACTOR, input)));
    });

  campaign
    .command('list')
    .description('the campaigns, newest first')
    .action(async () => {
      await withDatabase(async (database) => {
        const rows = await listCampaigns(database);
        console.log(
          formatTable(
            ['id', 'name', 'channel', 'purpose', 'status', 'previous', 'sent'],
            rows.map((c) => [
              c.id,
              c.name,
              c.channel,
              c.purpose,
              c.status,
              c.previousCampaignId ?? '',
              c.sentAt?.toISOString().slice(0, 16) ?? '',
            ]),
          ),
        );
      });
    });

  campaign
    .command('show')
    .argument('<id>', 'campaign id', idArgument)
    .description('a campaign: goal, audience, variants, recipients by state')
    .action(async (id: number) => {
      await withDatabase(async (database) => printCampaign(await getCampaign(database, id)));
    });

  campaign
    .command('clone')
    .argument('<id>', 'the campaign to copy', idArgument)
    .description('version 2: copy a campaign (content, goal, audience) with changes; compared with it')
    .option('--name <name>')
    .option('--file <json>', 'changes as JSON (any create field)')
    .option('--offer <text>', 'a new offer for every variant')
    .action(async (id: number, o: { name?: string; file?: string; offer?: string }) => {
      const changes: Record<string, unknown> = o.file ? await jsonFile(o.file) : {};
      if (o.name) changes.name = o.name;
      await withDatabase(async (database) => {
        if (o.offer !== undefined) {
          const source = await getCampaign(database, id);
          changes.variants = source.variants.map((v) => ({
            code: v.code,
            name: v.name ?? undefined,
            weight: v.weight,
            subject: v.subject ?? undefined,
            bodyText: v.bodyText ?? undefined,
            bodyHtml: v.bodyHtml ?? undefined,
            offer: o.offer,
          }));
        }
        printCampaign(await cloneCampaign(database, CLI_ACTOR, id, changes));
      });
    });

  campaign
    .command('assign')
    .argument('<id>', 'campaign id', idArgument)
    .description('snapshot the audience and assign variants and the holdout')
    .action(async (id: number) => {
      await withDatabase(async (database) => {
        const a = await assignCampaign(database, CLI_ACTOR, id);
        console.log(`snapshot ${a.snapshotId}: ${a.members} members, ${a.holdout} held out`);
        console.log(
          formatTable(
            ['tier', 'members', 'holdout'],
            a.byStratum.map((s) => [s.stratum, s.members, s.holdout]),
          ),
        );
        console.log(
          `variants: ${Object.entries(a.byVariant)
            .map(([v, n]) => `${v} ${n}`)
            .join(', ')}`,
        );
      });
    });

  campaign
    .command('preview')
    .argument('<id>', 'campaign id', idArgument)
    .description('who would be reached, who is excluded and why, and the cost (sends nothing)')
    .option('--limit <n>', 'excluded customers to list', positiveInteger, 20)
    .action(async (id: number, o: { limit: number }) => {
      await withDatabase(async (database) => {
        const p = await previewCampaign(database, CLI_ACTOR, id, { limit: o.limit });
        console.log(`${p.recipients} recipients (${p.holdout} more held out)`);
        console.log(
          formatTable(
            ['channel', 'reached', 'cost per touch', 'cost'],
            p.cost.map((c) => [c.channel, c.touches, c.costPerTouch, c.cost]),
          ),
        );
        console.log(
          `total cost ${p.totalCost}${p.budget ? ` of budget ${p.budget}${p.overBudget ? ' — OVER BUDGET' : ''}` : ''}`,
        );
        console.log(
          formatTable(
            ['excluded because', 'customers'],
            Object.entries(p.excluded).sort((a, b) => b[1] - a[1]),
          ),
        );
        if (p.excludedCustomers.length) {
          console.log(
            formatTable(
              ['id', 'name', 'tier', 'reasons'],
              p.excludedCustomers.map((c) => [
                c.customerId,
                c.name ?? '',
                c.tier ?? '',
                c.reasons.join(', '),
              ]),
            ),
          );
        }
      });
    });

  campaign
    .command('send')
    .argument('<id>', 'campaign id', idArgument)
    .description('send (durable: run it again after a crash, with --resume when no other sender runs)')
    .option('--rate <n>', 'at most n messages per second', positiveInteger)
    .option('--resume', 'take rows left "sending" by a dead process as abandoned now')
    .option('--smtp-url <url>', 'SMTP server (SMTP_URL)')
    .action(async (id: number, o: { rate?: number; resume?: boolean; smtpUrl?: string }) => {
      await withDatabase(async (database) => {
        const r = await runSend(database, id, o);
        console.log(
          `campaign ${id}: ${r.sent} sent, ${r.suppressed} refused by the contact policy, ${r.failed} failed, ${r.bounced} bounced in ${r.seconds.toFixed(1)} s — ${r.status}`,
        );
      });
    });

  campaign
    .command('letters')
    .argument('<id>', 'a letter campaign', idArgument)
    .description('produce the print files: send (log the touches) then write letters.pdf and letters.csv')
    .requiredOption('--out <dir>', 'directory for letters.pdf and letters.csv')
    .option('--smtp-url <url>', 'SMTP server for the e-mail fallback (SMTP_URL)')
    .action(async (id: number, o: { out: string; smtpUrl?: string }) => {
      await withDatabase(async (database) => {
        const c = await getCampaign(database, id);
        if (c.channel !== 'letter')
          throw new KizunaError('not_a_letter_campaign', `Campaign ${id} is a ${c.channel} campaign`);
        if (c.status !== 'sent') await runSend(database, id, { ...o, quiet: true });
        const { letters } = await campaignLetters(database, id);
        await mkdir(o.out, { recursive: true });
        await writeFile(join(o.out, 'letters.pdf'), await lettersPdf(letters));
        await writeFile(join(o.out, 'letters.csv'), lettersCsv(letters));
        console.log(
          `${letters.length} letters: ${join(o.out, 'letters.pdf')}, ${join(o.out, 'letters.csv')}`,
        );
      });
    });

  campaign
    .command('call-list')
    .argument('<id>', 'a phone campaign', idArgument)
    .description('put the permitted customers on the call list (logs the touches) and write it')
    .requiredOption('--out <file>', 'a .csv or .json file')
    .action(async (id: number, o: { out: string }) => {
      await withDatabase(async (database) => {
        const c = await getCampaign(database, id);
        if (c.channel !== 'phone')
          throw new KizunaError('not_a_phone_campaign', `Campaign ${id} is a ${c.channel} campaign`);
        if (c.status !== 'sent') await runSend(database, id, { quiet: true });
        const rows = await callList(database, CLI_ACTOR, id);
        await writeFile(o.out, o.out.endsWith('.json') ? JSON.stringify(rows, null, 2) : callListCsv(rows));
        console.log(`${rows.length} calls: ${o.out}`);
      });
    });

  campaign
    .command('policy')
    .description('show the contact policy, or change it with --set <json>')
    .option('--set <json>', 'a change, e.g. \'{"complaintQuietDays": 30}\'')
    .action(async (o: { set?: string }) => {
      await withDatabase(async (database) => {
        let policy = await readContactPolicy(database);
        if (o.set !== undefined) {
          let patch: unknown;
          try {
            patch = JSON.parse(o.set);
          } catch (error) {
            throw new KizunaError('invalid_policy', `--set: ${(error as Error).message}`);
          }
          policy = await updateContactPolicy(database, patch, null);
        }
        console.log(JSON.stringify(policy, null, 2));
      });
    });
}
