import type { Database } from '../db/index.ts';
import type { AuditOutcome } from '../db/schema.ts';
import type { Actor } from './actor.ts';

/** One audit entry: who (the actor), what (`action`, e.g. `POST /api/customers/:id/merge`), on whom. */
export type AuditEntry = {
  actor: Actor | null;
  action: string;
  outcome: AuditOutcome;
  status?: number;
  customerId?: number | null;
  /** What else was acted on, as ids (`order:123`, `staff:4`); never personal values. */
  target?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
};

export async function recordAudit(database: Database, entry: AuditEntry): Promise<void> {
  const actor = entry.actor;
  await database.db
    .insertInto('audit_log')
    .values({
      actor_kind: actor?.kind ?? 'anonymous',
      actor_staff_id: actor?.staffId ?? null,
      actor_token_id: actor?.tokenId ?? null,
      actor_name: actor?.name ?? null,
      action: entry.action,
      outcome: entry.outcome,
      status: entry.status ?? null,
      customer_id: entry.customerId ?? null,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}

export type AuditQuery = {
  customerId?: number;
  staffId?: number;
  action?: string;
  outcome?: AuditOutcome;
  from?: Date;
  to?: Date;
  limit?: number;
  /** Entries with an id below this one (paging back). */
  beforeId?: number;
};

export type AuditRow = {
  id: number;
  at: Date;
  actorKind: string;
  actorStaffId: number | null;
  actorTokenId: number | null;
  actorName: string | null;
  action: string;
  outcome: string;
  status: number | null;
  customerId: number | null;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
};

export const MAX_AUDIT_LIMIT = 1000;

/** Audit entries, newest first, filtered; `hasMore` says whether older ones remain. */
export async function queryAudit(
  database: Database,
  query: AuditQuery = {},
): Promise<{ entries: AuditRow[]; hasMore: boolean }> {
  const limit = Math.min(query.limit ?? 100, MAX_AUDIT_LIMIT);
  let select = database.db.selectFrom('audit_log').selectAll();
  if (query.customerId !== undefined) select = select.where('customer_id', '=', query.customerId);
  if (query.staffId !== undefined) select = select.where('actor_staff_id', '=', query.staffId);
  if (query.action !== undefined) select = select.where('action', 'like', `%${query.action}%`);
  if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome);
  if (query.from !== undefined) select = select.where('at', '>=', query.from);
  if (query.to !== undefined) select = select.where('at', '<', query.to);
  if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  return {
    entries: rows.slice(0, limit).map((r) => ({
      id: r.id,
      at: r.at,
      actorKind: r.actor_kind,
      actorStaffId: r.actor_staff_id,
      actorTokenId: r.actor_token_id,
      actorName: r.actor_name,
      action: r.action,
      outcome: r.outcome,
      status: r.status,
      customerId: r.customer_id,
      target: r.target,
      ip: r.ip,
      detail: r.detail,
    })),
    hasMore: rows.length > limit,
  };
}
