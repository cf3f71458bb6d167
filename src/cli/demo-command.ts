import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cdnowRows } from '../demo/cdnow.ts';
import { writeDemoFiles } from '../demo/index.ts';
import { loadDemo, loadRows } from '../demo/load-demo.ts';
import { KizunaError } from '../errors.ts';
import { formatImportSummary } from './import-command.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { startProgress } from './output.ts';

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`'${value}' is not a date`);
  return date;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'generate the synthetic demo retailer (known ground truth) and load it, or write it as CSV files with --out',
    )
    .option('--customers <n>', 'number of customers', positiveInteger, 10000)
    .option('--seed <n>', 'random seed (same seed, same data)', positiveInteger, 1)
    .option('--as-of <date>', 'the "today" of the demo data (default 2026-10-31)', parseDate)
    .option('--out <dir>', 'write CSV files and manifest.json to this directory instead of loading them')
    .option(
      '--dataset <name>',
      'demo (synthetic, default), cdnow (the CDNOW purchase log) or cdnow-sample',
      'demo',
    )
    .action(
      async (options: { customers: number; seed: number; asOf?: Date; out?: string; dataset: string }) => {
        if (options.dataset === 'cdnow' || options.dataset === 'cdnow-sample') {
          const rows = cdnowRows(options.dataset === 'cdnow' ? 'master' : 'sample');
          const results = await withDatabase((database) => loadRows(database, (kind) => rows[kind]));
          console.log(formatImportSummary(results));
          return;
        }
        if (options.dataset !== 'demo') {
          throw new KizunaError(
            'unknown_dataset',
            `unknown dataset '${options.dataset}': use demo, cdnow or cdnow-sample`,
          );
        }
        const demo = { customers: options.customers, seed: options.seed, asOf: options.asOf };
        if (options.out) {
          const out = resolve(options.out);
          const bar = startProgress('demo', options.customers);
          try {
            await writeDemoFiles(demo, out, (p) => bar.update(p.customers, options.customers));
          } finally {
            bar.stop();
          }
          console.log(
            `demo data for ${options.customers.toLocaleString('en-US')} customers written to ${out}`,
          );
          return;
        }
        const results = await withDatabase(async (database) => {
          const bar = startProgress('demo');
          try {
            return await loadDemo(database, demo, (p) => bar.update(p.rows, undefined, p.kind));
          } finally {
            bar.stop();
          }
        });
        console.log(formatImportSummary(results));
      },
    );
}
