import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { type Actor, CLI_ACTOR, updateSettings } from '../auth/index.ts';
import type { Database, Role } from '../db/index.ts';
import {
  createInteraction,
  InteractionInput,
  listCustomerInteractions,
  redactForRole,
  redactInteractions,
  updateInteraction,
} from './index.ts';

let database: Database;
let customer: number;
let storeA: number;
let storeB: number;
let agent: number;

const as = (role: Role, storeIds: number[] | null = null): Actor => ({
  kind: 'staff',
  staffId: null,
  tokenId: null,
  name: role,
  role,
  storeIds,
});

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  [storeA, storeB] = (
    await db
      .insertInto('stores')
      .values([
        { code: 'A', name: 'A' },
        { code: 'B', name: 'B' },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  agent = (
    await db
      .insertInto('staff')
      .values({ code: 'agent', name: 'Agent', role: 'service_agent' })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  customer = (
    await db.insertInto('customers').values({ external_id: 'C1' }).returning('id').executeTakeFirstOrThrow()
  ).id;
});

afterAll(async () => database?.close());

const complaint = () =>
  InteractionInput.parse({
    kind: 'complaint',
    channel: 'phone',
    subject: 'Lens case cracked',
    body: 'The case I bought last week cracked on the second day.',
    storeId: storeA,
    ownerStaffId: agent,
    durationSeconds: 300,
    openedAt: '2025-03-01T10:00:00+09:00',
    externalId: 'CC-1',
  });

describe('createInteraction', () => {
  it('records an interaction, idempotent by external id', async () => {
    const first = await createInteraction(database, as('service_agent'), customer, complaint());
    expect(first.created).toBe(true);
    expect(first.interaction).toMatchObject({
      kind: 'complaint',
      status: 'open',
      storeId: storeA,
      bodyRedacted: false,
    });
    const again = await createInteraction(database, as('service_agent'), customer, complaint());
    expect([again.created, again.interaction.id]).toEqual([false, first.interaction.id]);
    const conflict = await createInteraction(database, as('service_agent'), customer, {
      ...complaint(),
      body: 'Something else',
    }).catch((e) => e);
    expect([conflict.status, conflict.code, conflict.field]).toEqual([409, 'interaction_conflict', 'body']);
  });

  it('stamps resolvedAt when created resolved, and checks store and staff', async () => {
    const { interaction } = await createInteraction(database, CLI_ACTOR, customer, {
      ...InteractionInput.parse({
        kind: 'inquiry',
        channel: 'web',
        status: 'resolved',
        body: 'Opening hours?',
      }),
    });
    expect(interaction.resolvedAt).toBeInstanceOf(Date);
    const otherStore = await createInteraction(database, as('store_staff', [storeA]), customer, {
      ...InteractionInput.parse({ kind: 'call', channel: 'store', storeId: storeB }),
    }).catch((e) => e);
    expect([otherStore.status, otherStore.code]).toEqual([403, 'store_out_of_scope']);
    const unknownStaff = await createInteraction(database, CLI_ACTOR, customer, {
      ...InteractionInput.parse({ kind: 'call', channel: 'phone', ownerStaffId: 999_999 }),
    }).catch((e) => e);
    expect([unknownStaff.status, unknownStaff.field]).toEqual([400, 'ownerStaffId']);
  });
});

describe('updateInteraction', () => {
  it('stamps resolvedAt on resolution unless given, keeps it on close and clears it on reopening', async () => {
    const { interaction } = await createInteraction(database, CLI_ACTOR, customer, {
      ...InteractionInput.parse({ kind: 'request', channel: 'email', openedAt: '2025-03-02T00:00:00Z' }),
    });
    const answered = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      status: 'waiting',
      firstResponseAt: new Date('2025-03-02T01:00:00Z'),
    });
    expect([answered.status, answered.firstResponseAt?.toISOString(), answered.resolvedAt]).toEqual([
      'waiting',
      '2025-03-02T01:00:00.000Z',
      null,
    ]);
    const resolved = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      status: 'resolved',
    });
    expect(resolved.resolvedAt).toBeInstanceOf(Date);
    const closed = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      status: 'closed',
    });
    expect(closed.resolvedAt).toEqual(resolved.resolvedAt);
    const reopened = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      status: 'open',
    });
    expect(reopened.resolvedAt).toBeNull();
    const given = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      status: 'resolved',
      resolvedAt: new Date('2025-03-05T00:00:00Z'),
    });
    expect(given.resolvedAt?.toISOString()).toBe('2025-03-05T00:00:00.000Z');
    const early = await updateInteraction(database, CLI_ACTOR, customer, interaction.id, {
      resolvedAt: new Date('2025-03-01T00:00:00Z'),
    }).catch((e) => e);
    expect([early.status, early.field]).toEqual([400, 'resolvedAt']);
  });

  it('answers 404 for an interaction of another customer', async () => {
    const missing = await updateInteraction(database, CLI_ACTOR, customer + 1000, 1, {
      status: 'closed',
    }).catch((e) => e);
    expect([missing.status, missing.code]).toEqual([404, 'interaction_not_found']);
  });
});

describe('complaint text', () => {
  it('is withheld from marketers by default, shown to managers, and follows the owner’s setting', async () => {
    const forMarketer = await listCustomerInteractions(database, as('marketer'), customer, {
      kind: 'complaint',
    });
    expect(forMarketer.interactions).toHaveLength(1);
    expect(forMarketer.interactions[0]).toMatchObject({
      subject: 'Lens case cracked',
      body: null,
      bodyRedacted: true,
    });
    const inquiries = await listCustomerInteractions(database, as('marketer'), customer, { kind: 'inquiry' });
    expect(inquiries.interactions[0]).toMatchObject({ body: 'Opening hours?', bodyRedacted: false });
    const forManager = await listCustomerInteractions(database, as('manager'), customer, {
      kind: 'complaint',
    });
    expect(forManager.interactions[0]).toMatchObject({ bodyRedacted: false });
    expect(forManager.interactions[0]!.body).toContain('cracked');

    await updateSettings(database, { hideComplaintTextFrom: ['manager'] }, null);
    const [marketerNow] = (
      await listCustomerInteractions(database, as('marketer'), customer, { kind: 'complaint' })
    ).interactions;
    const [managerNow] = (
      await listCustomerInteractions(database, as('manager'), customer, { kind: 'complaint' })
    ).interactions;
    expect([marketerNow!.bodyRedacted, managerNow!.bodyRedacted, managerNow!.body]).toEqual([
      false,
      true,
      null,
    ]);
    await updateSettings(database, { hideComplaintTextFrom: ['marketer'] }, null);
  });

  it('redacts timeline-shaped entries too (kind of the event, interaction_kind of the interaction)', async () => {
    const entries = [
      { kind: 'interaction', interaction_kind: 'complaint', body: 'secret' },
      { kind: 'interaction', interaction_kind: 'inquiry', body: 'open' },
    ];
    expect((await redactForRole(database, 'marketer', entries)).map((e) => e.body)).toEqual([null, 'open']);
    expect(redactInteractions([{ interactionKind: 'complaint', body: 'x' }], true)[0]).toEqual({
      interactionKind: 'complaint',
      body: 'x',
      bodyRedacted: false,
    });
  });

  it('filters by status and pages', async () => {
    const open = await listCustomerInteractions(database, CLI_ACTOR, customer, { status: 'open' });
    expect(open.interactions.every((i) => i.status === 'open')).toBe(true);
    const page = await listCustomerInteractions(database, CLI_ACTOR, customer, {}, { limit: 1, offset: 0 });
    expect([page.interactions.length, page.hasMore]).toEqual([1, true]);
  });
});
