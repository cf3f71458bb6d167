import type { Command } from 'commander';
import { customerTimeline, findCustomer, formatTimeline } from '../customers/index.ts';
import { KizunaError } from '../errors.ts';
import { positiveInteger, withDatabase } from './main.ts';

export function registerCustomerCommand(program: Command): void {
  program
    .command('customer')
    .description(
      "show one customer's timeline: purchases, communications, interactions and preferences, newest first",
    )
    .argument('<id>', 'the customer: Kizuna id, your external id, or e-mail address')
    .option('--limit <n>', 'at most this many events', positiveInteger, 50)
    .option('--json', 'print JSON instead of a table')
    .action(async (key: string, options: { limit: number; json?: boolean }) => {
      const text = await withDatabase(async (database) => {
        const id = await findCustomer(database, key);
        if (id === null)
          throw new KizunaError('customer_not_found', `no customer with id, external id or e-mail '${key}'`);
        const timeline = await customerTimeline(database, id, { limit: options.limit });
        return options.json ? JSON.stringify(timeline, null, 2) : formatTimeline(timeline);
      });
      console.log(text);
    });
}
