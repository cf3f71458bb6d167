import type { Command } from 'commander';
import { buildServer } from '../api/index.ts';
import { ensureOwnerAccount, pruneSessions } from '../auth/index.ts';
import { setDemoMailCatcher, startMailCatcher } from '../campaigns/index.ts';
import { databaseConfigFromEnv, migrateToLatest, openDatabase } from '../db/index.ts';
import { loadMeasuredDemo } from '../demo/measured-demo.ts';
import { startFlowWorker } from './flow-command.ts';
import { formatImportSummary } from './import-command.ts';
import { positiveInteger } from './main.ts';
import { startProgress } from './output.ts';

type ServeOptions = {
  port: number;
  host: string;
  demoIfEmpty?: boolean;
  demoCustomers: number;
  flows?: boolean;
};

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP server (API) on the configured database')
    .option('--port <n>', 'port (PORT)', positiveInteger, Number(process.env.PORT ?? 3000))
    .option('--host <host>', 'address to listen on (HOST)', process.env.HOST ?? '127.0.0.1')
    .option('--demo-if-empty', 'load the demo retailer first when the database has no customers')
    .option('--flows', 'run the flow worker in this process too (KIZUNA_FLOW_WORKER=true)')
    .option(
      '--demo-customers <n>',
      'size of that demo (KIZUNA_DEMO_CUSTOMERS)',
      positiveInteger,
      Number(process.env.KIZUNA_DEMO_CUSTOMERS ?? 10000),
    )
    .action(async (options: ServeOptions) => {
      const database = await openDatabase(databaseConfigFromEnv());
      const applied = await migrateToLatest(database);
      console.log(
        `${database.description}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`,
      );
      if (options.demoIfEmpty) {
        const any = await database.db.selectFrom('customers').select('id').limit(1).executeTakeFirst();
        if (!any) {
          console.log(
            `empty database: loading the demo retailer (${options.demoCustomers.toLocaleString('en-US')} customers)…`,
          );
          const bar = startProgress('demo');
          const demo = await loadMeasuredDemo(database, options.demoCustomers, (p) =>
            bar.update(p.rows, undefined, p.kind),
          );
          bar.stop();
          console.log(formatImportSummary(demo.imports));
          console.log(
            `measures for ${demo.customers.toLocaleString('en-US')} customers as of ${demo.asOf}; ` +
              `customer equity ${Math.round(demo.equity).toLocaleString('en-US')}`,
          );
        }
      }
      const owner = await ensureOwnerAccount(database, process.env.KIZUNA_ADMIN_PASSWORD);
      if (owner.created) {
        console.log(
          owner.password
            ? `owner account created: sign in as "${owner.login}" with the one-time password ${owner.password} (shown once; you will be asked to change it)`
            : `owner account created: sign in as "${owner.login}" with KIZUNA_ADMIN_PASSWORD`,
        );
      }
      await pruneSessions(database);
      // No SMTP relay configured: campaign e-mails go to a local catcher the web app lists (/api/demo/mails).
      if (!process.env.SMTP_URL) {
        const port = Number(process.env.KIZUNA_CATCHER_PORT ?? 2525);
        const catcher = await startMailCatcher({ port }).catch(() => startMailCatcher({ port: 0 }));
        setDemoMailCatcher(catcher);
        process.env.SMTP_URL = catcher.url;
        console.log(`no SMTP_URL: campaign e-mails go to the local mail catcher at ${catcher.url}`);
      }
      const server = buildServer(database, {
        logger: { level: process.env.LOG_LEVEL ?? 'info' },
        trustProxy: process.env.KIZUNA_TRUST_PROXY === 'true',
      });
      const address = await server.listen({ port: options.port, host: options.host });
      console.log(`Kizuna is listening on ${address}  (try ${address}/health)`);
      // The flow worker in-process (step mail, follow-up tasks): --flows or KIZUNA_FLOW_WORKER=true.
      const flows =
        options.flows || process.env.KIZUNA_FLOW_WORKER === 'true' ? startFlowWorker(database) : null;
      if (flows) console.log('flow worker running in-process (docs/flows.md)');
      const stop = async () => {
        await flows?.stop();
        await server.close();
        await database.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
