import type { Command } from 'commander';
import {
  CLI_ACTOR,
  createApiToken,
  createStaffAccount,
  findStaff,
  isRole,
  listApiTokens,
  listStaffAccounts,
  queryAudit,
  recordAudit,
  revokeApiToken,
  type StaffAccount,
  setStaffPassword,
  updateStaffAccount,
} from '../auth/index.ts';
import { generatePassword } from '../auth/secrets.ts';
import type { Database, Role } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable } from './output.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function roleOption(value: string | undefined): Role | undefined {
  if (value === undefined) return undefined;
  if (!isRole(value)) {
    throw new KizunaError(
      'invalid_role',
      `--role ${value}: use owner, manager, marketer, store_staff or service_agent`,
    );
  }
  return value;
}

async function storeIdsOf(database: Database, codes: string[] | undefined): Promise<number[] | undefined> {
  if (codes === undefined) return undefined;
  const rows = await database.db
    .selectFrom('stores')
    .select(['id', 'code'])
    .where('code', 'in', codes)
    .execute();
  const missing = codes.filter((code) => !rows.some((r) => r.code === code));
  if (missing.length > 0)
    throw new KizunaError('store_not_found', `--store: no store with code ${missing.join(', ')}`);
  return rows.map((r) => r.id);
}

async function staffByLogin(database: Database, login: string): Promise<StaffAccount> {
  const account = await findStaff(database, login);
  if (!account) throw new KizunaError('staff_not_found', `No staff member with code or e-mail ${login}`);
  return account;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const cliAudit = (database: Database, action: string, target: string, detail?: Record<string, unknown>) =>
  recordAudit(database, { actor: CLI_ACTOR, action, outcome: 'ok', target, detail });

/** `kizuna staff …`, `kizuna token …` and `kizuna audit`: accounts and accountability from the shell. */
export function registerAccountCommands(program: Command): void {
  const staff = program
    .command('staff')
    .description('staff accounts: who can sign in, with which role and stores');

  staff
    .command('list')
    .description('list staff accounts')
    .action(async () => {
      await withDatabase(async (database) => {
        const accounts = await listStaffAccounts(database);
        console.log(
          formatTable(
            ['id', 'code', 'name', 'role', 'stores', 'sign-in', 'last sign-in'],
            accounts.map((a) => [
              a.id,
              a.code,
              a.name,
              a.role,
              a.allStores ? 'all' : a.storeIds.join(',') || '-',
              a.disabled
                ? 'disabled'
                : a.lockedUntil && a.lockedUntil > new Date()
                  ? 'locked'
                  : a.canSignIn
                    ? 'yes'
                    : 'no password',
              a.lastLoginAt?.toISOString() ?? '-',
            ]),
          ),
        );
      });
    });

  staff
    .command('add')
    .argument('<code>', 'login name (letters, digits, _ . -)')
    .requiredOption('--name <name>', 'full name')
    .requiredOption('--role <role>', 'owner | manager | marketer | store_staff | service_agent')
    .option('--email <email>', 'e-mail (can also be used to sign in)')
    .option('--store <code>', 'a store they may see (repeat for more)', collect)
    .option('--all-stores', 'may see every store')
    .option('--password-stdin', 'read the password from standard input instead of generating a one-time one')
    .description('create a staff account; prints a one-time password unless --password-stdin')
    .action(
      async (
        code: string,
        options: {
          name: string;
          role: string;
          email?: string;
          store?: string[];
          allStores?: boolean;
          passwordStdin?: boolean;
        },
      ) => {
        const role = roleOption(options.role)!;
        const password = options.passwordStdin ? await readStdin() : undefined;
        await withDatabase(async (database) => {
          const oneTime = password === undefined ? generatePassword() : undefined;
          const account = await createStaffAccount(database, {
            code,
            name: options.name,
            email: options.email ?? null,
            role,
            storeIds: await storeIdsOf(database, options.store),
            allStores: options.allStores ?? false,
            password: password ?? oneTime,
            mustChangePassword: oneTime !== undefined,
          });
          await cliAudit(database, 'staff.add', `staff:${account.id}`, { role });
          console.log(`staff ${account.code} (id ${account.id}, ${account.role}) created`);
          if (oneTime)
            console.log(`one-time password (shown once; to be changed at first sign-in): ${oneTime}`);
        });
      },
    );

  staff
    .command('update')
    .argument('<login>', 'code or e-mail')
    .option('--role <role>', 'new role')
    .option('--store <code>', 'the stores they may see, replacing the current list (repeat)', collect)
    .option('--all-stores', 'may see every store')
    .option('--own-stores', 'may see only their stores')
    .option('--disable', 'can no longer sign in (sessions end)')
    .option('--enable', 'can sign in again')
    .description("change a staff member's role, stores, or disable the account")
    .action(
      async (
        login: string,
        options: {
          role?: string;
          store?: string[];
          allStores?: boolean;
          ownStores?: boolean;
          disable?: boolean;
          enable?: boolean;
        },
      ) => {
        await withDatabase(async (database) => {
          const account = await staffByLogin(database, login);
          const updated = await updateStaffAccount(database, account.id, {
            role: roleOption(options.role),
            storeIds: await storeIdsOf(database, options.store),
            allStores: options.allStores ? true : options.ownStores ? false : undefined,
            disabled: options.disable ? true : options.enable ? false : undefined,
          });
          await cliAudit(database, 'staff.update', `staff:${account.id}`, { options });
          console.log(
            `staff ${updated.code}: ${updated.role}, stores ${updated.allStores ? 'all' : updated.storeIds.join(',') || '-'}${updated.disabled ? ', disabled' : ''}`,
          );
        });
      },
    );

  staff
    .command('set-password')
    .argument('<login>', 'code or e-mail')
    .option(
      '--password-stdin',
      'read the new password from standard input instead of generating a one-time one',
    )
    .description('set a new password (also unlocks a locked account and ends its sessions)')
    .action(async (login: string, options: { passwordStdin?: boolean }) => {
      const password = options.passwordStdin ? await readStdin() : undefined;
      await withDatabase(async (database) => {
        const account = await staffByLogin(database, login);
        const oneTime = password === undefined ? generatePassword() : undefined;
        await setStaffPassword(database, account.id, password ?? oneTime!, {
          mustChange: oneTime !== undefined,
        });
        await cliAudit(database, 'staff.set-password', `staff:${account.id}`);
        console.log(
          oneTime
            ? `one-time password for ${account.code} (shown once; to be changed at first sign-in): ${oneTime}`
            : `password of ${account.code} changed`,
        );
      });
    });

  const token = program.command('token').description('API tokens for integrations (POS, e-shop)');
  token
    .command('create')
    .requiredOption('--name <name>', 'what uses it, e.g. "POS Shibuya"')
    .requiredOption('--role <role>', 'the role it acts with')
    .option('--store <code>', 'a store it may act for (repeat for more)', collect)
    .option('--all-stores', 'may act for every store')
    .description('create an API token; it is printed once and stored only as a hash')
    .action(async (options: { name: string; role: string; store?: string[]; allStores?: boolean }) => {
      await withDatabase(async (database) => {
        const created = await createApiToken(database, {
          name: options.name,
          role: roleOption(options.role)!,
          storeIds: await storeIdsOf(database, options.store),
          allStores: options.allStores,
        });
        await cliAudit(database, 'token.create', `token:${created.apiToken.id}`);
        console.log(`token ${created.apiToken.id} (${created.apiToken.name}, ${created.apiToken.role}):`);
        console.log(created.token);
        console.log('send it as "Authorization: Bearer <token>"; it is not shown again');
      });
    });
  token
    .command('list')
    .description('list API tokens (never the secrets)')
    .action(async () => {
      await withDatabase(async (database) => {
        const tokens = await listApiTokens(database);
        console.log(
          formatTable(
            ['id', 'name', 'prefix', 'role', 'stores', 'last used', 'revoked'],
            tokens.map((t) => [
              t.id,
              t.name,
              `${t.prefix}…`,
              t.role,
              t.allStores ? 'all' : t.storeIds.join(','),
              t.lastUsedAt?.toISOString() ?? '-',
              t.revokedAt?.toISOString() ?? '-',
            ]),
          ),
        );
      });
    });
  token
    .command('revoke')
    .argument('<id>', 'token id (from `kizuna token list`)', positiveInteger)
    .description('revoke an API token; it stops working at once')
    .action(async (id: number) => {
      await withDatabase(async (database) => {
        const revoked = await revokeApiToken(database, id);
        await cliAudit(database, 'token.revoke', `token:${id}`);
        console.log(`token ${revoked.id} (${revoked.name}) revoked`);
      });
    });

  program
    .command('audit')
    .description('the audit log, newest first: who did what, to which customer, when, from where')
    .option('--customer <id>', 'entries about this customer id', positiveInteger)
    .option('--staff <login>', 'entries by this staff member (code or e-mail)')
    .option('--action <text>', 'entries whose action contains this text')
    .option('--since <date>', 'entries at or after this date (YYYY-MM-DD or ISO time)')
    .option('--limit <n>', 'how many', positiveInteger, 50)
    .option('--json', 'print JSON')
    .action(
      async (options: {
        customer?: number;
        staff?: string;
        action?: string;
        since?: string;
        limit: number;
        json?: boolean;
      }) => {
        const since = options.since === undefined ? undefined : new Date(options.since);
        if (since && Number.isNaN(since.getTime()))
          throw new KizunaError('invalid_date', `--since ${options.since}: not a date`);
        await withDatabase(async (database) => {
          const staffId = options.staff ? (await staffByLogin(database, options.staff)).id : undefined;
          const { entries, hasMore } = await queryAudit(database, {
            customerId: options.customer,
            staffId,
            action: options.action,
            from: since,
            limit: options.limit,
          });
          if (options.json) {
            console.log(JSON.stringify({ entries, hasMore }, null, 2));
            return;
          }
          console.log(
            formatTable(
              ['at', 'who', 'action', 'outcome', 'customer', 'target', 'from'],
              entries.map((e) => [
                e.at.toISOString(),
                e.actorName ?? e.actorKind,
                e.action,
                e.status === null ? e.outcome : `${e.outcome} ${e.status}`,
                e.customerId === null ? '-' : String(e.customerId),
                e.target ?? '-',
                e.ip ?? '-',
              ]),
            ),
          );
          if (hasMore) console.log(`(more: --limit ${options.limit * 2})`);
        });
      },
    );
}
