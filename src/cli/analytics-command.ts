import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { monthEnds, refreshMeasures, snapshotTiers } from '../analytics/measures/index.ts';
import { REPORTS, type ReportOptions } from '../analytics/report-registry.ts';
import { KizunaError } from '../errors.ts';
import { withDatabase } from './main.ts';
import { formatTable } from './output.ts';
import { formatReport, reportCsv } from './report-output.ts';

const day = (value: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  return value;
};

export function registerAnalyticsCommands(program: Command): void {
  const analytics = program.command('analytics').description('relationship analytics: measures, RFM, tiers');
  analytics
    .command('refresh')
    .description(
      'recompute every customer’s measures (RFM, tier, spend, margin…) as of a date — incremental when the last refresh used the same settings and an earlier or equal date — and snapshot tiers per month end',
    )
    .option('--as-of <date>', 'the day to compute as of (default today)', day)
    .option('--full', 'recompute every customer from the orders even when an incremental refresh is possible')
    .option(
      '--recut',
      'rank against the buyers as of --as-of: new cut points for its month, instead of those its first refresh fixed',
    )
    .option('--snapshots-from <date>', 'also snapshot tiers at each month end from this date to --as-of', day)
    .action(async (o: { asOf?: string; full?: boolean; recut?: boolean; snapshotsFrom?: string }) => {
      const asOf = o.asOf ?? new Date().toISOString().slice(0, 10);
      await withDatabase(async (database) => {
        const result = await refreshMeasures(database, {
          asOf,
          full: o.full,
          recut: o.recut,
          onStep: (s) => process.stderr.write(`  ${s.step}: ${s.seconds.toFixed(2)} s\n`),
        });
        console.log(
          formatTable(
            ['step', 'rows', 'seconds'],
            result.steps.map((s) => [s.step, s.rows, s.seconds.toFixed(2)]),
          ),
        );
        const { updated, inserted, deleted } = result.written;
        console.log(
          `\n${result.mode} refresh (${result.reason}): ${result.customers.toLocaleString('en-US')} customers ` +
            `(${result.withPurchases.toLocaleString('en-US')} with purchases) as of ${result.asOf} in ${result.seconds.toFixed(2)} s; ` +
            `${result.recomputed.toLocaleString('en-US')} recomputed from their orders, ` +
            `${(updated + inserted + deleted).toLocaleString('en-US')} rows changed`,
        );
        console.log(
          `F / M scores and tiers ranked against the buyers as of ${result.cutPointsAsOf} (the month's cut points; --recut ranks against ${result.asOf})`,
        );
        if (o.snapshotsFrom) {
          const ends = monthEnds(o.snapshotsFrom, asOf);
          const snapshots = await snapshotTiers(database, { from: o.snapshotsFrom, to: asOf });
          console.log(`tier snapshots at ${ends.length} month ends in ${snapshots.seconds.toFixed(2)} s`);
        }
      });
    });

  program
    .command('report')
    .description(
      `print a report: ${Object.keys(REPORTS).join(', ')} (run \`kizuna analytics refresh\` first)`,
    )
    .argument('<name>', Object.keys(REPORTS).join('|'))
    .option('--from <date>', 'first period (month end), for transitions', day)
    .option('--to <date>', 'last period (month end)', day)
    .option('--json', 'print JSON')
    .option('--csv <file>', 'write the report’s main table as CSV')
    .action(async (name: string, o: ReportOptions & { json?: boolean; csv?: string }) => {
      const report = REPORTS[name];
      if (!report)
        throw new KizunaError(
          'unknown_report',
          `unknown report '${name}': use one of ${Object.keys(REPORTS).join(', ')}`,
        );
      const result = await withDatabase((database) => report.run(database, o));
      if (o.csv) await writeFile(o.csv, reportCsv(result));
      console.log(o.json ? JSON.stringify(result, null, 2) : formatReport(report.title, result));
    });
}
