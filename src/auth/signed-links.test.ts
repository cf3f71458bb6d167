import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import type { Database } from '../db/index.ts';
import { signLink, verifyLink } from './signed-links.ts';

describe('signed customer links', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database.close());

  it('verifies a link it signed and returns its payload', async () => {
    const token = await signLink(database, { purpose: 'unsubscribe', subject: 42, extra: { campaign: 7 } });
    expect(await verifyLink(database, token, 'unsubscribe')).toEqual({
      purpose: 'unsubscribe',
      subject: 42,
      extra: { campaign: 7 },
    });
  });

  it('keeps one secret per database: a second signature of the same payload is identical', async () => {
    const payload = { purpose: 'csat', subject: 1 };
    expect(await signLink(database, payload)).toBe(await signLink(database, payload));
  });

  it('refuses a link whose payload was changed to another customer', async () => {
    const token = await signLink(database, { purpose: 'unsubscribe', subject: 42 });
    const [, signature] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ purpose: 'unsubscribe', subject: 43 })).toString('base64url')}.${signature}`;
    await expect(verifyLink(database, forged, 'unsubscribe')).rejects.toThrow(/signature does not match/);
  });

  it('refuses a link made for another purpose, an expired one and a truncated one', async () => {
    const csat = await signLink(database, { purpose: 'csat', subject: 5 });
    await expect(verifyLink(database, csat, 'unsubscribe')).rejects.toThrow(/not a unsubscribe link/);

    const exp = Math.floor(Date.parse('2026-01-01T00:00:00Z') / 1000);
    const expiring = await signLink(database, { purpose: 'csat', subject: 5, exp });
    expect((await verifyLink(database, expiring, 'csat', new Date('2025-12-31T23:59:00Z'))).subject).toBe(5);
    await expect(verifyLink(database, expiring, 'csat', new Date('2026-01-01T00:00:01Z'))).rejects.toThrow(
      /expired/,
    );

    await expect(verifyLink(database, csat.split('.')[0]!, 'csat')).rejects.toMatchObject({
      code: 'invalid_link',
    });
  });

  it('stores only the secret in settings, not the links', async () => {
    const rows = await database.db.selectFrom('settings').select('key').execute();
    expect(rows.map((r) => r.key)).toEqual(['link_secret']);
  });
});
