import type { Command } from 'commander';
import { asOfDate } from '../api/segment.routes.ts';
import { ATTRIBUTION_RULES, type AttributionRule } from '../campaigns/attribution.ts';
import { campaignReport, renderCampaignReport } from '../campaigns/report.ts';
import { KizunaError } from '../errors.ts';
import { withDatabase } from './main.ts';

type ReportOptions = { attribution?: string; asOf?: string; json?: boolean; locale?: string };

/**
 * `kizuna campaign report <id or name>`: the campaign report as a table (or JSON). Added to the `campaign`
 * command group (registered before this), or creates the group when there is none.
 */
export function registerCampaignReportCommand(program: Command): void {
  const campaign =
    program.commands.find((command) => command.name() === 'campaign') ??
    program.command('campaign').description('measured campaigns');
  campaign
    .command('report')
    .argument('<campaign>', 'campaign id or name')
    .description(
      'responders per variant and holdout, lift with its 95 % interval, winner, cost, profit; version 2 vs version 1',
    )
    .option(
      '--attribution <rule>',
      `which touch gets a purchase: ${ATTRIBUTION_RULES.join(' | ')} (default last_touch)`,
    )
    .option(
      '--as-of <when>',
      'count purchases up to this date (end of that day, UTC) or date-time; default now',
    )
    .option('--json', 'the report as JSON')
    .option('--locale <locale>', 'number format of the table, e.g. ja-JP (default en-US)')
    .action(async (key: string, o: ReportOptions) => {
      if (o.attribution !== undefined && !(ATTRIBUTION_RULES as readonly string[]).includes(o.attribution)) {
        throw new KizunaError(
          'invalid_request',
          `--attribution ${o.attribution}: use ${ATTRIBUTION_RULES.join(' or ')}`,
        );
      }
      const asOf = asOfDate(o.asOf);
      if (Number.isNaN(asOf.getTime())) {
        throw new KizunaError(
          'invalid_request',
          `--as-of ${o.asOf}: write a date (2026-06-30) or a date-time with a zone`,
        );
      }
      await withDatabase(async (database) => {
        const report = await campaignReport(database, key, {
          attribution: o.attribution as AttributionRule | undefined,
          asOf,
        });
        process.stdout.write(
          o.json
            ? `${JSON.stringify(report, null, 2)}\n`
            : renderCampaignReport(report, { locale: o.locale }),
        );
      });
    });
}
