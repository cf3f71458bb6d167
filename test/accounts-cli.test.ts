import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('kizuna staff, token and audit', () => {
  let dir: string;
  let target: TestTarget;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-accounts-'));
    target = await createTestTarget(join(dir, 'data'));
    const imported = await kizuna(['import', 'stores', join(fixtures, 'shop', 'stores.csv')], target.env);
    expect(imported.code).toBe(0);
  });
  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates an account with a one-time password, a token shown once, and lists both in the audit log', async () => {
    const added = await kizuna(
      ['staff', 'add', 'clerk1', '--name', '佐藤 花子', '--role', 'store_staff', '--store', 'S01'],
      target.env,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/one-time password .*: [A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}/);

    const badRole = await kizuna(['staff', 'add', 'x', '--name', 'X', '--role', 'boss'], target.env);
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain('--role boss');

    const list = await kizuna(['staff', 'list'], target.env);
    expect(list.stdout).toMatch(/clerk1\s+佐藤 花子\s+store_staff\s+\d+\s+yes/);

    const token = await kizuna(
      ['token', 'create', '--name', 'POS', '--role', 'store_staff', '--store', 'S01'],
      target.env,
    );
    expect(token.code).toBe(0);
    const secret = token.stdout.match(/^kz_\S+$/m)?.[0];
    expect(secret).toBeDefined();
    const tokens = await kizuna(['token', 'list'], target.env);
    expect(tokens.stdout).toContain('POS');
    expect(tokens.stdout).not.toContain(secret);

    const revoked = await kizuna(['token', 'revoke', '1'], target.env);
    expect(revoked.stdout).toContain('revoked');

    const audit = await kizuna(['audit', '--json'], target.env);
    const actions = JSON.parse(audit.stdout).entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['token.revoke', 'token.create', 'staff.add']);
  });
});
