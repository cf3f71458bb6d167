import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { listCustomerTouches, recordTouch, TouchInput } from './index.ts';

let database: Database;
let customer: number;
let other: number;

beforeAll(async () => {
  database = await openTestDatabase();
  [customer, other] = (
    await database.db
      .insertInto('customers')
      .values([{ external_id: 'C1' }, { external_id: 'C2' }])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
});

afterAll(async () => database?.close());

const spring = () =>
  TouchInput.parse({
    channel: 'dm',
    campaign: 'spring-2025',
    variant: 'B',
    subject: '春のご案内',
    cost: '120.5',
    sentAt: '2025-03-01T09:00:00+09:00',
    externalId: 'MAIL-1',
  });

const touchCount = async () =>
  Number(
    (
      await database.db
        .selectFrom('touches')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('recordTouch', () => {
  it('records a touch with an exact cost', async () => {
    const { touch, created } = await recordTouch(database, customer, spring());
    expect(created).toBe(true);
    expect(touch).toMatchObject({
      customerId: customer,
      channel: 'dm',
      campaign: 'spring-2025',
      cost: '120.50',
    });
    expect(touch.sentAt.toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('is idempotent by external id and refuses different content under it', async () => {
    const again = await recordTouch(database, customer, spring());
    expect(again.created).toBe(false);
    expect(await touchCount()).toBe(1);
    const conflict = await recordTouch(database, customer, { ...spring(), variant: 'A' }).catch((e) => e);
    expect(conflict).toBeInstanceOf(KizunaError);
    expect([conflict.status, conflict.code, conflict.field]).toEqual([409, 'touch_conflict', 'variant']);
    const elsewhere = await recordTouch(database, other, spring()).catch((e) => e);
    expect([elsewhere.status, elsewhere.field]).toEqual([409, 'externalId']);
    expect(await touchCount()).toBe(1);
  });

  it('records every touch without an external id, and lists them newest first with filters', async () => {
    const plain = TouchInput.parse({ channel: 'email', sentAt: '2025-04-01T00:00:00Z' });
    await recordTouch(database, customer, plain);
    await recordTouch(database, customer, plain);
    expect(await touchCount()).toBe(3);
    const all = await listCustomerTouches(database, customer);
    expect(all.touches.map((t) => t.channel)).toEqual(['email', 'email', 'dm']);
    expect(all.touches[0]!.cost).toBe('0.00');
    const dm = await listCustomerTouches(database, customer, { channel: 'dm' });
    expect(dm.touches.map((t) => t.externalId)).toEqual(['MAIL-1']);
    const page = await listCustomerTouches(database, customer, {}, { limit: 2, offset: 0 });
    expect([page.touches.length, page.hasMore]).toEqual([2, true]);
    expect((await listCustomerTouches(database, other)).touches).toEqual([]);
  });
});
