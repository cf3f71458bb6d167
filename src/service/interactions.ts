import { z } from 'zod';
import { type Actor, ForbiddenError } from '../auth/index.ts';
import { DEFAULT_PAGING, type Paging, pageOf, requireNotErased } from '../commerce/index.ts';
import type {
  Database,
  InteractionChannel,
  InteractionKind,
  InteractionStatus,
  TicketPriority,
} from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type Redacted, redactForRole } from './redaction.ts';

export const INTERACTION_KINDS = [
  'inquiry',
  'request',
  'complaint',
  'suggestion',
  'call',
] as const satisfies readonly InteractionKind[];
export const INTERACTION_CHANNELS = [
  'phone',
  'email',
  'store',
  'web',
  'letter',
] as const satisfies readonly InteractionChannel[];
export const INTERACTION_STATUSES = [
  'new',
  'open',
  'waiting',
  'resolved',
  'closed',
] as const satisfies readonly InteractionStatus[];
/** A ticket's priority, lowest first (tickets and the SLA policies read the same list). */
export const TICKET_PRIORITIES = [
  'low',
  'normal',
  'high',
  'urgent',
] as const satisfies readonly TicketPriority[];

const FINISHED: ReadonlySet<InteractionStatus> = new Set(['resolved', 'closed']);

const dateTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' })
  .transform((value) => new Date(value));

export const InteractionInput = z.object({
  kind: z.enum(INTERACTION_KINDS),
  channel: z.enum(INTERACTION_CHANNELS),
  status: z.enum(INTERACTION_STATUSES).optional().describe('default open'),
  subject: z.string().trim().max(500).nullable().optional(),
  body: z.string().max(20_000).nullable().optional().describe('what the customer told us'),
  storeId: z.number().int().positive().nullable().optional(),
  ownerStaffId: z.number().int().positive().nullable().optional(),
  durationSeconds: z.number().int().min(0).max(86_400).nullable().optional(),
  openedAt: dateTime.optional().describe('default: now'),
  externalId: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('id in the contact-centre system; sending it again records nothing new'),
});
export type InteractionInput = z.output<typeof InteractionInput>;

export const InteractionPatch = z.object({
  status: z.enum(INTERACTION_STATUSES).optional(),
  ownerStaffId: z.number().int().positive().nullable().optional(),
  firstResponseAt: dateTime.nullable().optional(),
  resolvedAt: dateTime
    .nullable()
    .optional()
    .describe('set to now when status becomes resolved or closed and this is not given'),
});
export type InteractionPatch = z.output<typeof InteractionPatch>;

export type InteractionFilter = { status?: InteractionStatus; kind?: InteractionKind };

export type Interaction = {
  id: number;
  customerId: number;
  externalId: string | null;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  subject: string | null;
  body: string | null;
  storeId: number | null;
  ownerStaffId: number | null;
  durationSeconds: number | null;
  openedAt: Date;
  firstResponseAt: Date | null;
  resolvedAt: Date | null;
};

/** An interaction as a given reader sees it: complaint text may be withheld (`redactForRole`). */
export type InteractionView = Redacted<Interaction>;

const COLUMNS = [
  'id',
  'customer_id',
  'external_id',
  'kind',
  'channel',
  'status',
  'subject',
  'body',
  'store_id',
  'owner_staff_id',
  'duration_seconds',
  'opened_at',
  'first_response_at',
  'resolved_at',
] as const;

type InteractionRow = {
  id: number;
  customer_id: number;
  external_id: string | null;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  subject: string | null;
  body: string | null;
  store_id: number | null;
  owner_staff_id: number | null;
  duration_seconds: number | null;
  opened_at: Date;
  first_response_at: Date | null;
  resolved_at: Date | null;
};

const toInteraction = (row: InteractionRow): Interaction => ({
  id: row.id,
  customerId: row.customer_id,
  externalId: row.external_id,
  kind: row.kind,
  channel: row.channel,
  status: row.status,
  subject: row.subject,
  body: row.body,
  storeId: row.store_id,
  ownerStaffId: row.owner_staff_id,
  durationSeconds: row.duration_seconds,
  openedAt: row.opened_at,
  firstResponseAt: row.first_response_at,
  resolvedAt: row.resolved_at,
});

/** The referenced store and staff exist (400 naming the field rather than a foreign-key 500). */
async function checkReferences(
  database: Database,
  actor: Actor,
  refs: { storeId?: number | null; ownerStaffId?: number | null },
): Promise<void> {
  if (refs.storeId != null) {
    const store = await database.db
      .selectFrom('stores')
      .select('id')
      .where('id', '=', refs.storeId)
      .executeTakeFirst();
    if (!store)
      throw new KizunaError('unknown_store', `storeId: no store ${refs.storeId}`, { field: 'storeId' });
    // Staff record contacts at their own stores; the customer may still be anyone's (a call about a
    // purchase elsewhere is taken by whoever answers).
    if (actor.storeIds !== null && !actor.storeIds.includes(refs.storeId)) {
      throw new ForbiddenError(`Store ${refs.storeId} is not one of your stores`, 'store_out_of_scope');
    }
  }
  if (refs.ownerStaffId != null) {
    const staff = await database.db
      .selectFrom('staff')
      .select('id')
      .where('id', '=', refs.ownerStaffId)
      .executeTakeFirst();
    if (!staff) {
      throw new KizunaError('unknown_staff', `ownerStaffId: no staff member ${refs.ownerStaffId}`, {
        field: 'ownerStaffId',
      });
    }
  }
}

function requireNotBefore(field: string, at: Date | null | undefined, openedAt: Date): void {
  if (at != null && at.getTime() < openedAt.getTime()) {
    throw new KizunaError(
      'invalid_request',
      `${field}: must not be before openedAt (${openedAt.toISOString()})`,
      {
        field,
      },
    );
  }
}

/** Fields a replay states and the stored interaction has otherwise; defaults count as unstated. */
function differences(input: InteractionInput, customerId: number, stored: Interaction): string[] {
  const found: string[] = [];
  if (stored.customerId !== customerId) found.push('customer');
  if (input.kind !== stored.kind) found.push('kind');
  if (input.channel !== stored.channel) found.push('channel');
  for (const key of ['subject', 'body', 'storeId', 'durationSeconds'] as const) {
    if (input[key] !== undefined && input[key] !== stored[key]) found.push(key);
  }
  if (input.openedAt !== undefined && input.openedAt.getTime() !== stored.openedAt.getTime())
    found.push('openedAt');
  // Status and owner are left out: they move on after the first post (PATCH), and a late replay of
  // the original message must not be refused for it.
  return found;
}

/**
 * Records what a customer told us. With an `externalId` it is idempotent (`created: false` on a
 * replay; 409 `interaction_conflict` when the content differs). A status of resolved or closed at
 * creation stamps resolvedAt.
 */
export async function createInteraction(
  database: Database,
  actor: Actor,
  customerId: number,
  input: InteractionInput,
): Promise<{ interaction: InteractionView; created: boolean }> {
  await requireNotErased(database, customerId);
  await checkReferences(database, actor, input);
  const openedAt = input.openedAt ?? new Date();
  const status = input.status ?? 'open';
  const now = new Date();
  const row = await database.db
    .insertInto('interactions')
    .values({
      customer_id: customerId,
      external_id: input.externalId ?? null,
      kind: input.kind,
      channel: input.channel,
      status,
      subject: input.subject ?? null,
      body: input.body ?? null,
      store_id: input.storeId ?? null,
      owner_staff_id: input.ownerStaffId ?? null,
      duration_seconds: input.durationSeconds ?? null,
      opened_at: openedAt,
      resolved_at: FINISHED.has(status) ? (openedAt > now ? openedAt : now) : null,
    })
    .onConflict((oc) => oc.column('external_id').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  let interaction: Interaction;
  let created = true;
  if (row) {
    interaction = toInteraction(row);
  } else {
    interaction = toInteraction(
      await database.db
        .selectFrom('interactions')
        .select(COLUMNS)
        .where('external_id', '=', input.externalId ?? '')
        .executeTakeFirstOrThrow(),
    );
    created = false;
    const differs = differences(input, customerId, interaction);
    if (differs.length > 0) {
      throw new KizunaError(
        'interaction_conflict',
        `Interaction ${input.externalId} was already recorded with a different ${differs.join(', ')}`,
        { field: differs[0] === 'customer' ? 'externalId' : differs[0], status: 409 },
      );
    }
  }
  const [view] = await redactForRole(database, actor.role, [interaction]);
  return { interaction: view!, created };
}

/**
 * Moves an interaction on: status, owner, first response, resolution. Becoming resolved or closed stamps
 * resolvedAt (now) unless given; reopening (open, waiting) clears it, since the case is not resolved.
 */
export async function updateInteraction(
  database: Database,
  actor: Actor,
  customerId: number,
  interactionId: number,
  patch: InteractionPatch,
): Promise<InteractionView> {
  const current = await database.db
    .selectFrom('interactions')
    .select(COLUMNS)
    .where('customer_id', '=', customerId)
    .where('id', '=', interactionId)
    .executeTakeFirst();
  if (!current) {
    throw new KizunaError(
      'interaction_not_found',
      `Customer ${customerId} has no interaction ${interactionId}`,
      {
        status: 404,
      },
    );
  }
  await checkReferences(database, actor, { ownerStaffId: patch.ownerStaffId });
  let resolvedAt = patch.resolvedAt;
  if (resolvedAt === undefined && patch.status !== undefined) {
    if (FINISHED.has(patch.status) && current.resolved_at === null) resolvedAt = new Date();
    if (!FINISHED.has(patch.status)) resolvedAt = null;
  }
  requireNotBefore('firstResponseAt', patch.firstResponseAt, current.opened_at);
  requireNotBefore('resolvedAt', resolvedAt, current.opened_at);
  const changes = {
    ...(patch.status === undefined ? {} : { status: patch.status }),
    ...(patch.ownerStaffId === undefined ? {} : { owner_staff_id: patch.ownerStaffId }),
    ...(patch.firstResponseAt === undefined ? {} : { first_response_at: patch.firstResponseAt }),
    ...(resolvedAt === undefined ? {} : { resolved_at: resolvedAt }),
  };
  const row =
    Object.keys(changes).length === 0
      ? current
      : await database.db
          .updateTable('interactions')
          .set(changes)
          .where('customer_id', '=', customerId)
          .where('id', '=', interactionId)
          .returning(COLUMNS)
          .executeTakeFirstOrThrow();
  const [view] = await redactForRole(database, actor.role, [toInteraction(row)]);
  return view!;
}

/** A customer's interactions, newest first, as the actor may see them (complaint text rule). */
export async function listCustomerInteractions(
  database: Database,
  actor: Actor,
  customerId: number,
  filter: InteractionFilter = {},
  paging: Paging = DEFAULT_PAGING,
): Promise<{ interactions: InteractionView[]; hasMore: boolean }> {
  let query = database.db.selectFrom('interactions').select(COLUMNS).where('customer_id', '=', customerId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  const rows = await query
    .orderBy('opened_at', 'desc')
    .orderBy('id', 'desc')
    .limit(paging.limit + 1)
    .offset(paging.offset)
    .execute();
  const page = pageOf(rows, paging);
  return {
    interactions: await redactForRole(database, actor.role, page.items.map(toInteraction)),
    hasMore: page.hasMore,
  };
}
