import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailCatcher, startMailCatcher } from '../src/campaigns/index.ts';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { loadCustomers, tagSegment } from './campaigns-fixture.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/** `kizuna campaign …` as a user runs it: create, preview, send into an SMTP server, list, letters. */
describe('kizuna campaign', () => {
  let target: TestTarget;
  let dir: string;
  let catcher: MailCatcher;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-campaign-cli-'));
    target = await createTestTarget(join(dir, 'data'));
    const database = await openDatabase(target.config);
    await migrateToLatest(database);
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', tier: 'loyal', consents: { email: true, letter: true }, address: 'Tokyo' },
      { id: 2, name: 'Ben', tier: 'regular', consents: { email: true, letter: true } },
      { id: 3, name: 'Chie', tier: 'semi_loyal', consents: { letter: true } },
    ]);
    await tagSegment(database, 'audience');
    await database.close();
    catcher = await startMailCatcher();
    env = { ...target.env, SMTP_URL: catcher.url };
  }, 60_000);

  afterAll(async () => {
    await catcher.close();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, previews, sends with a progress report, lists and produces letters', async () => {
    const created = await kizuna(
      [
        'campaign',
        'create',
        '--name',
        'autumn',
        '--channel',
        'email',
        '--segment',
        'audience',
        '--subject',
        'Hi {{ customer.name }}',
        '--offer',
        '5% off',
      ],
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^campaign 1: autumn \(email, marketing\) — draft/);

    const preview = await kizuna(['campaign', 'preview', '1'], env);
    expect(preview.stdout).toContain('3 recipients (0 more held out)');
    expect(preview.stdout).toMatch(/email\s+2\s+1\.00\s+2\.00/);
    expect(preview.stdout).toMatch(/no_consent:email\s+1/);
    expect(preview.stdout).toMatch(/3\s+Chie\s+semi_loyal\s+no_consent:email/);

    const sent = await kizuna(['campaign', 'send', '1'], env);
    expect(sent.stdout).toContain('campaign 1: 2 sent, 1 refused by the contact policy, 0 failed, 0 bounced');
    expect((await catcher.list()).map((m) => m.subject).sort()).toEqual(['Hi Aiko', 'Hi Ben']);

    const list = await kizuna(['campaign', 'list'], env);
    expect(list.stdout).toMatch(/1\s+autumn\s+email\s+marketing\s+sent/);

    const noSmtp = await kizuna(['campaign', 'send', '1'], { ...target.env });
    expect(noSmtp.code).toBe(1);
    expect(noSmtp.stderr).toContain('SMTP_URL');

    await kizuna(
      [
        'campaign',
        'create',
        '--name',
        'letters',
        '--channel',
        'letter',
        '--segment',
        'audience',
        '--body',
        'Dear {{ customer.name }}',
      ],
      env,
    );
    const out = join(dir, 'print');
    const letters = await kizuna(['campaign', 'letters', '2', '--out', out], env);
    expect(letters.stderr).toBe('');
    expect(letters.stdout).toContain('2 letters');
    const csv = await readFile(join(out, 'letters.csv'), 'utf8');
    expect(
      csv
        .split('\n')
        .slice(1, 3)
        .map((l) => l.split(',')[0]),
    ).toEqual(['1', '3']);
    expect((await readFile(join(out, 'letters.pdf'))).subarray(0, 5).toString()).toBe('%PDF-');
  }, 400_000);
});
