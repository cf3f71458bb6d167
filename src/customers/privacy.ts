import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit, requirePermission } from '../auth/index.ts';
import type { Database, Schema } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { PERSONAL_DATA_EMPTIED } from './customer-records.ts';

/**
 * The customer's rights over their data (MISSION: privacy): access — everything Kizuna holds about one
 * person, as one JSON document — and erasure — the person disappears while the sales they made stay, as
 * anonymous records, so that last year's totals do not change when someone asks to be forgotten.
 */

export const EXPORT_FORMAT = 'kizuna-customer-export/1';
export const ERASE_REASON_MAX = 500;

type Row = Record<string, unknown>;

/** Tables the export names one by one; any other table with a customer_id column goes to `other_tables`. */
const KNOWN_TABLES = new Set([
  'customers',
  'consents',
  'orders',
  'order_lines',
  'returns',
  'touches',
  'interactions',
  'preferences',
  'customer_measures',
  'customer_clv',
  'tier_snapshots',
  'audit_log',
]);

export type CustomerExport = {
  format: typeof EXPORT_FORMAT;
  exported_at: string;
  customer_id: number;
  customer: Row;
  /** Duplicate records merged into this customer (directly or through a chain of merges). */
  merged_records: Row[];
  consents: Row[];
  orders: (Row & { lines: Row[] })[];
  returns: Row[];
  touches: Row[];
  interactions: Row[];
  /** Every preference note, obsolete ones included. */
  preferences: Row[];
  customer_measures: Row | null;
  customer_clv: Row | null;
  tier_snapshots: Row[];
  /** Who read or changed this customer's record, and when. */
  audit_log: Row[];
  /** Rows about the customer in tables added after this export was written, by table name. */
  other_tables: Record<string, Row[]>;
};

/** The customer and every record merged into them, however many merges deep. */
async function customerAndMergedIds(db: Kysely<Schema>, customerId: number): Promise<number[]> {
  const result = await sql<{ id: number }>`
with recursive merged(id) as (
  select id from customers where merged_into_customer_id = ${customerId}
  union
  select c.id from customers c join merged m on c.merged_into_customer_id = m.id
)
select id from merged where id <> ${customerId} order by id`.execute(db);
  return [customerId, ...result.rows.map((r) => r.id)];
}

/** Tables with a customer_id column besides the ones the export already names (other modules' tables). */
async function otherCustomerTables(db: Kysely<Schema>): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
select c.table_name from information_schema.columns c
join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
where c.table_schema = current_schema() and c.column_name = 'customer_id' and t.table_type = 'BASE TABLE'
order by c.table_name`.execute(db);
  return result.rows.map((r) => r.table_name).filter((name) => !KNOWN_TABLES.has(name));
}

function notFound(customerId: number): KizunaError {
  return new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
}

/**
 * Everything held about one customer (a data-subject access request), including their merged-away
 * duplicates and the audit entries about them. Money stays an exact decimal string, times ISO 8601.
 */
export async function exportCustomer(database: Database, customerId: number): Promise<CustomerExport> {
  const db = database.db;
  const customer = await db
    .selectFrom('customers')
    .selectAll()
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!customer) throw notFound(customerId);
  const ids = await customerAndMergedIds(db, customerId);
  const [
    merged,
    consents,
    orders,
    lines,
    returns,
    touches,
    interactions,
    preferences,
    measures,
    clv,
    snapshots,
    audit,
    otherTables,
  ] = await Promise.all([
    ids.length > 1
      ? db.selectFrom('customers').selectAll().where('id', 'in', ids.slice(1)).orderBy('id').execute()
      : Promise.resolve([]),
    db
      .selectFrom('consents')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('recorded_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('orders')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('ordered_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('order_lines as ol')
      .innerJoin('products as p', 'p.id', 'ol.product_id')
      .selectAll('ol')
      .select(['p.sku', 'p.name as product_name', 'p.category'])
      .where('ol.customer_id', 'in', ids)
      .orderBy('ol.order_id')
      .orderBy('ol.line_no')
      .execute(),
    db
      .selectFrom('returns')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('returned_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('touches')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('sent_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('interactions')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('opened_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('preferences')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('noted_at')
      .orderBy('id')
      .execute(),
    db.selectFrom('customer_measures').selectAll().where('customer_id', '=', customerId).executeTakeFirst(),
    db.selectFrom('customer_clv').selectAll().where('customer_id', '=', customerId).executeTakeFirst(),
    db
      .selectFrom('tier_snapshots')
      .selectAll()
      .where('customer_id', 'in', ids)
      .orderBy('period_end')
      .orderBy('customer_id')
      .execute(),
    db.selectFrom('audit_log').selectAll().where('customer_id', 'in', ids).orderBy('id').execute(),
    otherCustomerTables(db),
  ]);
  const other_tables: Record<string, Row[]> = {};
  for (const table of otherTables) {
    // The table name comes from the catalog, not from input; it is quoted as an identifier.
    const rows =
      await sql<Row>`select * from ${sql.table(table)} where customer_id = any(${ids}::bigint[])`.execute(db);
    if (rows.rows.length > 0) other_tables[table] = rows.rows;
  }
  const linesByOrder = new Map<string, Row[]>();
  for (const line of lines) {
    const key = `${line.customer_id}:${line.order_id}`;
    linesByOrder.set(key, [...(linesByOrder.get(key) ?? []), line]);
  }
  return {
    format: EXPORT_FORMAT,
    exported_at: new Date().toISOString(),
    customer_id: customerId,
    customer,
    merged_records: merged,
    consents,
    orders: orders.map((order) => ({
      ...order,
      lines: linesByOrder.get(`${order.customer_id}:${order.id}`) ?? [],
    })),
    returns,
    touches,
    interactions,
    preferences,
    customer_measures: measures ?? null,
    customer_clv: clv ?? null,
    tier_snapshots: snapshots,
    audit_log: audit,
    other_tables,
  };
}

export type Erasure = {
  customer_id: number;
  erased_at: string;
  /** Merged-away duplicates erased with the customer. */
  merged_records: number;
  consents_deleted: number;
  notes_deleted: number;
  interactions_redacted: number;
  touches_redacted: number;
};

const affected = (result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }) =>
  Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n);

/**
 * Rewrites `id=<external id>` in audit targets (route parameters, written when staff opened the customer
 * by external id) to the internal id: the external id is a personal identifier; the internal id is not
 * once the record is anonymous. Nothing else in an audit entry changes.
 */
async function pseudonymiseAuditTargets(
  db: Kysely<Schema>,
  ids: number[],
  customerId: number,
  externalIds: string[],
): Promise<void> {
  if (externalIds.length === 0) return;
  const rows = await db
    .selectFrom('audit_log')
    .select(['id', 'target'])
    .where('customer_id', 'in', ids)
    .where('target', 'is not', null)
    .execute();
  const external = new Set(externalIds);
  for (const row of rows) {
    const parts = row.target!.split('&');
    const rewritten = parts.map((part) => {
      const [name, value] = part.split('=', 2);
      return value !== undefined && external.has(value) ? `${name}=${customerId}` : part;
    });
    if (rewritten.some((part, i) => part !== parts[i])) {
      await db
        .updateTable('audit_log')
        .set({ target: rewritten.join('&') })
        .where('id', '=', row.id)
        .execute();
    }
  }
}

/**
 * The right to be forgotten, in one transaction: every personal value of the customer (and of the
 * duplicates merged into them) is removed — identity columns, consent history, preference notes, what
 * they wrote to us and the subjects of what we sent them — while orders, lines, returns and the measures
 * stay as anonymous records, so sales totals do not change. One audit entry records who, when and why
 * (ids only). 404 for an unknown customer, 409 when already erased.
 */
export async function eraseCustomer(
  database: Database,
  actor: Actor,
  customerId: number,
  reason: string,
): Promise<Erasure> {
  requirePermission(actor, 'customers:erase');
  const why = reason.trim();
  if (why === '')
    throw new KizunaError('invalid_request', 'reason: say why the customer is erased', { field: 'reason' });
  if (why.length > ERASE_REASON_MAX) {
    throw new KizunaError('invalid_request', `reason: at most ${ERASE_REASON_MAX} characters`, {
      field: 'reason',
    });
  }
  return database.transaction(async (tx) => {
    const db = tx.db;
    const target = await db
      .selectFrom('customers')
      .select(['id', 'erased_at', 'merged_into_customer_id'])
      .where('id', '=', customerId)
      .forUpdate()
      .executeTakeFirst();
    if (!target) throw notFound(customerId);
    if (target.erased_at !== null) {
      throw new KizunaError(
        'customer_already_erased',
        `Customer ${customerId} was erased on ${target.erased_at.toISOString()}`,
        { status: 409 },
      );
    }
    const ids = await customerAndMergedIds(db, customerId);
    const externalIds = (
      await db.selectFrom('customers').select('external_id').where('id', 'in', ids).execute()
    ).flatMap((r) => (r.external_id === null ? [] : [r.external_id]));
    const erasedAt = new Date();

    await db
      .updateTable('customers')
      .set({
        ...PERSONAL_DATA_EMPTIED,
        external_id: null,
        do_not_contact: true,
        erased_at: erasedAt,
        updated_at: erasedAt,
      })
      .where('id', 'in', ids)
      .execute();
    const consents = await db.deleteFrom('consents').where('customer_id', 'in', ids).executeTakeFirst();
    // Erasure is the one case where notes go: they are about the person, not about a sale.
    const notes = await db.deleteFrom('preferences').where('customer_id', 'in', ids).executeTakeFirst();
    const interactions = await db
      .updateTable('interactions')
      .set({ subject: null, body: null })
      .where('customer_id', 'in', ids)
      .executeTakeFirst();
    const touches = await db
      .updateTable('touches')
      .set({ subject: null })
      .where('customer_id', 'in', ids)
      .executeTakeFirst();
    // The service desk's conversation, follow-up answers and satisfaction comments are the customer's
    // words too (and e-mail headers carry their address); the ticket facts stay for the measures.
    await db
      .updateTable('ticket_messages')
      .set({ subject: null, body: null, from_address: null, attachments: '[]' })
      .where('customer_id', 'in', ids)
      .execute();
    await db
      .updateTable('follow_ups')
      .set({ prompt: '(erased)', answer: null })
      .where('customer_id', 'in', ids)
      .execute();
    await db.updateTable('csat_responses').set({ comment: null }).where('customer_id', 'in', ids).execute();
    // Flows: what an integration sent with a custom event, and what a trigger carried, may name the person;
    // a staff task's prompt may quote them. Their waiting steps end (the policy refuses an erased customer
    // anyway, this keeps the queue clean).
    await db.updateTable('flow_events').set({ data: '{}' }).where('customer_id', 'in', ids).execute();
    await db
      .updateTable('flow_enrollments')
      .set({ trigger_data: '{}' })
      .where('customer_id', 'in', ids)
      .execute();
    await db
      .updateTable('flow_tasks')
      .set({ prompt: null, outcome: null })
      .where('customer_id', 'in', ids)
      .execute();
    await db
      .updateTable('flow_jobs')
      .set({ state: 'cancelled', last_error: 'customer erased' })
      .where('customer_id', 'in', ids)
      .where('state', 'in', ['pending', 'running'])
      .execute();
    // Amounts and products stay (sales and return rates must not change); a free-text reason may quote
    // the customer, so it goes.
    await db.updateTable('returns').set({ reason: null }).where('customer_id', 'in', ids).execute();
    await pseudonymiseAuditTargets(db, ids, customerId, externalIds);

    await recordAudit(
      { ...database, db },
      {
        actor,
        action: 'customer.erase',
        outcome: 'ok',
        customerId,
        target: `customer:${customerId}`,
        detail: { reason: why, merged_customer_ids: ids.slice(1) },
      },
    );
    return {
      customer_id: customerId,
      erased_at: erasedAt.toISOString(),
      merged_records: ids.length - 1,
      consents_deleted: affected(consents),
      notes_deleted: affected(notes),
      interactions_redacted: affected(interactions),
      touches_redacted: affected(touches),
    };
  });
}
