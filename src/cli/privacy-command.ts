import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLI_ACTOR } from '../auth/index.ts';
import { eraseCustomer, exportCustomer, findCustomer } from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { withDatabase } from './main.ts';

async function resolve(database: Database, key: string): Promise<number> {
  const id = await findCustomer(database, key);
  if (id === null)
    throw new KizunaError('customer_not_found', `no customer with id, external id or e-mail '${key}'`);
  return id;
}

/** `kizuna privacy export|erase`: the customer's rights of access and erasure, as the operator (owner). */
export function registerPrivacyCommand(program: Command): void {
  const privacy = program
    .command('privacy')
    .description("a customer's privacy rights: export everything held, or erase");

  privacy
    .command('export')
    .description('everything held about one customer as JSON (data-subject access request)')
    .argument('<customer>', 'the customer: Kizuna id, your external id, or e-mail address')
    .option('--out <file>', 'write the JSON to this file instead of standard output')
    .action(async (key: string, options: { out?: string }) => {
      const json = await withDatabase(async (database) =>
        JSON.stringify(await exportCustomer(database, await resolve(database, key)), null, 2),
      );
      if (options.out) {
        // Owner-only permissions: the file holds one person's personal data.
        await writeFile(options.out, `${json}\n`, { mode: 0o600 });
        console.error(`export written to ${options.out}`);
      } else {
        console.log(json);
      }
    });

  privacy
    .command('erase')
    .description(
      'erase one customer (right to be forgotten): personal data removed, orders kept as anonymous records; cannot be undone',
    )
    .argument('<customer>', 'the customer: Kizuna id, your external id, or e-mail address')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--yes', 'confirm: erasure cannot be undone')
    .action(async (key: string, options: { reason: string; yes?: boolean }) => {
      if (!options.yes) {
        throw new KizunaError('confirmation_required', 'erasure cannot be undone: add --yes to confirm');
      }
      const erasure = await withDatabase(async (database) =>
        eraseCustomer(database, CLI_ACTOR, await resolve(database, key), options.reason),
      );
      console.log(
        `customer ${erasure.customer_id} erased at ${erasure.erased_at}: ${erasure.consents_deleted} consent records and ` +
          `${erasure.notes_deleted} notes deleted, ${erasure.interactions_redacted} interactions and ` +
          `${erasure.touches_redacted} messages blanked, ${erasure.merged_records} merged records erased; orders kept anonymously`,
      );
    });
}
