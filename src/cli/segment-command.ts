import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { asOfDate, definitionRules } from '../api/segment.routes.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import { KizunaError } from '../errors.ts';
import {
  conditionKinds,
  countSegment,
  evaluateSegment,
  explainSegment,
  getSegment,
  listSegments,
  previewSegment,
  type RuleNode,
  saveSegment,
  segmentCsv,
  segmentHistory,
  snapshotSegment,
  TEMPLATES,
} from '../segments/index.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable } from './output.ts';

type DefinitionOptions = { rules?: string; template?: string; param?: string[]; asOf?: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--param a=category:Wine --param days=30` → { a: 'category:Wine', days: '30' } (templates coerce). */
function templateParams(pairs: string[] = []): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new KizunaError('invalid_param', `--param ${pair}: write name=value`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

async function rulesOf(options: DefinitionOptions): Promise<RuleNode> {
  if (options.rules !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(options.rules, 'utf8'));
    } catch (error) {
      throw new KizunaError('invalid_rules', `--rules ${options.rules}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new KizunaError('invalid_rules', `--rules ${options.rules}: must hold one JSON object`);
    }
    return definitionRules({ rules: parsed as Record<string, unknown> });
  }
  return definitionRules({ template: options.template, params: templateParams(options.param) });
}

function definitionOptions(command: Command): Command {
  return command
    .option('--rules <file>', 'a JSON file holding the rule tree')
    .option('--template <name>', `a built-in template: ${TEMPLATES.map((t) => t.name).join(', ')}`)
    .option('--param <name=value>', 'a template parameter, e.g. a=category:Wine b=sku:P001 days=30', collect)
    .option('--as-of <when>', 'date (end of that day, UTC) or date-time the windows end at; default now');
}

function scopeOf(options: { asOf?: string }) {
  const asOf = asOfDate(options.asOf);
  if (Number.isNaN(asOf.getTime())) {
    throw new KizunaError(
      'invalid_as_of',
      `--as-of ${options.asOf}: write a date (2026-06-30) or a date-time with a zone`,
    );
  }
  return { asOf, actor: CLI_ACTOR };
}

/** `kizuna segment …`: count, preview, export, save, list, snapshot and history from the shell. */
export function registerSegmentCommand(program: Command): void {
  const segment = program
    .command('segment')
    .description('segments: rule trees over purchases, measures, contacts');

  definitionOptions(segment.command('count').description('how many customers the rules select'))
    .action(async (o: DefinitionOptions & { explain?: boolean }) => {
      const rules = await rulesOf(o);
      await withDatabase(async (database) => {
        const started = performance.now();
        const members = await countSegment(database, rules, scopeOf(o));
        console.log(
          `${members.toLocaleString('en-US')} customers (${Math.round(performance.now() - started)} ms)`,
        );
        if (o.explain) console.log(await explainSegment(database, rules, scopeOf(o), { analyze: true }));
      });
    })
    .option('--explain', 'also print the query plan with times');

  definitionOptions(segment.command('preview').description('the first members with their key measures'))
    .option('--limit <n>', 'how many', positiveInteger, 20)
    .action(async (o: DefinitionOptions & { limit: number }) => {
      const rules = await rulesOf(o);
      await withDatabase(async (database) => {
        const { customers } = await previewSegment(database, rules, scopeOf(o), { limit: o.limit });
        console.log(
          formatTable(
            ['id', 'external id', 'name', 'tier', 'RFM', 'orders', 'spend', 'last purchase', 'CLV'],
            customers.map((c) => [
              c.id,
              c.external_id ?? '',
              c.name ?? '',
              c.tier ?? '',
              c.rfm_cell ?? '',
              c.orders_count ?? 0,
              c.total_spend ?? '',
              c.last_purchase_at?.toISOString().slice(0, 10) ?? '',
              c.clv ?? '',
            ]),
          ),
        );
      });
    });

  definitionOptions(segment.command('export').description('write every member as CSV (personal data)'))
    .requiredOption('--out <file>', 'the CSV file to write')
    .action(async (o: DefinitionOptions & { out: string }) => {
      const rules = await rulesOf(o);
      await withDatabase(async (database) => {
        const members = await countSegment(database, rules, scopeOf(o));
        const out = createWriteStream(o.out);
        for await (const chunk of segmentCsv(database, rules, scopeOf(o))) {
          if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
        out.end();
        await finished(out);
        console.log(`${members.toLocaleString('en-US')} customers written to ${o.out}`);
      });
    });

  definitionOptions(
    segment
      .command('save')
      .argument('<name>', 'the segment’s name')
      .description('save the rules under a name'),
  )
    .option('--description <text>', 'what the segment is for')
    .action(async (name: string, o: DefinitionOptions & { description?: string }) => {
      const rules = await rulesOf(o);
      await withDatabase(async (database) => {
        const saved = await saveSegment(database, CLI_ACTOR, { name, description: o.description, rules });
        const { members } = await evaluateSegment(database, saved, scopeOf(o));
        console.log(
          `segment ${saved.id} "${saved.name}" saved: ${members.toLocaleString('en-US')} customers now`,
        );
      });
    });

  segment
    .command('list')
    .description('the saved segments')
    .action(async () => {
      await withDatabase(async (database) => {
        const segments = await listSegments(database);
        console.log(
          formatTable(
            ['id', 'name', 'owner', 'updated', 'description'],
            segments.map((s) => [
              s.id,
              s.name,
              s.owner_name,
              s.updated_at.toISOString().slice(0, 10),
              s.description ?? '',
            ]),
          ),
        );
      });
    });

  segment
    .command('snapshot')
    .argument('<segment>', 'a saved segment’s id or name')
    .option('--as-of <when>', 'the moment to freeze the membership at; default now')
    .description('freeze the members of a saved segment (campaigns send to a snapshot)')
    .action(async (key: string, o: { asOf?: string }) => {
      await withDatabase(async (database) => {
        const saved = await getSegment(database, key);
        const snapshot = await snapshotSegment(database, saved, scopeOf(o));
        console.log(
          `snapshot ${snapshot.id} of "${saved.name}": ${snapshot.members.toLocaleString('en-US')} customers`,
        );
      });
    });

  segment
    .command('history')
    .argument('<segment>', 'a saved segment’s id or name')
    .description('a saved segment’s size each time it was evaluated, and its snapshots')
    .action(async (key: string) => {
      await withDatabase(async (database) => {
        const saved = await getSegment(database, key);
        const { sizes, snapshots } = await segmentHistory(database, saved);
        console.log(
          formatTable(
            ['measured', 'as of', 'members', 'stores'],
            sizes.map((s) => [
              s.measured_at.toISOString(),
              s.as_of.toISOString(),
              s.members,
              s.store_ids?.join(',') ?? 'all',
            ]),
          ),
        );
        if (snapshots.length > 0) {
          console.log(
            `\nsnapshots: ${snapshots.map((s) => `${s.id} (${s.members} on ${s.as_of.toISOString()})`).join(', ')}`,
          );
        }
      });
    });

  segment
    .command('templates')
    .description('the built-in templates and the condition kinds a rule tree can use')
    .action(() => {
      console.log(
        formatTable(
          ['template', 'what it selects'],
          TEMPLATES.map((t) => [t.name, t.description]),
        ),
      );
      console.log(
        `\n${formatTable(
          ['condition kind', 'meaning'],
          conditionKinds().map((k) => [k.kind, k.summary]),
        )}`,
      );
    });
}
