import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailCatcher, startMailCatcher } from '../src/campaigns/index.ts';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { loadCustomers } from './campaigns-fixture.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/** `kizuna flow …` as a user runs it: create from a file, switch on, one worker tick into SMTP, report. */
describe('kizuna flow', () => {
  let target: TestTarget;
  let dir: string;
  let catcher: MailCatcher;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-flow-cli-'));
    target = await createTestTarget(join(dir, 'data'));
    const database = await openDatabase(target.config);
    await migrateToLatest(database);
    await loadCustomers(database, [{ id: 1, name: 'Aiko', consents: { email: true } }]);
    await database.close();
    catcher = await startMailCatcher({ port: 0 });
    env = { ...target.env, SMTP_URL: catcher.url };
  }, 60_000);

  afterAll(async () => {
    await catcher.close();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, enables, runs one tick that sends, and reports', async () => {
    const file = join(dir, 'flow.json');
    await writeFile(
      file,
      JSON.stringify({
        trigger: { type: 'event', name: 'hello' },
        steps: [{ kind: 'send', subject: 'Hello {{ customer.name }}', bodyText: 'Hi' }],
      }),
    );
    const created = await kizuna(['flow', 'create', 'Hello flow', '--definition', file], env);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('flow 1 "Hello flow" created (off)');
    const on = await kizuna(['flow', 'enable', '1'], env);
    expect(on.stdout).toContain('is on (version 1)');
    // The event happens after the switch-on.
    const database = await openDatabase(target.config);
    await database.db
      .insertInto('flow_events')
      .values({ customer_id: 1, name: 'hello', occurred_at: new Date(Date.now() + 500) })
      .execute();
    await database.close();
    await new Promise((r) => setTimeout(r, 600));
    const run = await kizuna(['flow', 'run', '--once'], env);
    expect(run.stdout).toContain('entered: Hello flow +1; steps run 1');
    expect((await catcher.list()).map((m) => m.subject)).toEqual(['Hello Aiko']);
    const report = await kizuna(['flow', 'report', 'Hello flow'], env);
    expect(report.stdout).toContain('Entered 1  held out 0');
    expect(report.stdout).toMatch(/1\s+0\s+send\s+1\s+0\s+1\s+0\s+0/);
    const bad = await kizuna(['flow', 'enable', 'nope'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('No flow nope');
  }, 300_000);
});
