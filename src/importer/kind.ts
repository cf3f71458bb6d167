import { type RawBuilder, sql } from 'kysely';
import type { z } from 'zod';
import type { Transaction } from '../db/index.ts';

export type KindName =
  | 'stores'
  | 'staff'
  | 'customers'
  | 'products'
  | 'orders'
  | 'returns'
  | 'touches'
  | 'interactions'
  | 'preferences';

/** How the rows of one batch changed the database. */
export type WriteCounts = {
  inserted: number;
  updated: number;
  unchanged: number;
  extra?: Record<string, number>;
};

/**
 * A reference from an import row to a record that must already exist (a customer, a product, a store).
 * `missing` selects the staged rows whose reference is unknown (columns line, value); `create`, used with
 * --create-missing, makes placeholder records for them instead.
 */
export type Reference = {
  field: string;
  what: string;
  missing: RawBuilder<{ line: number; value: string }>;
  create?: RawBuilder<unknown>;
};

/** A check across rows (e.g. the lines of one order disagreeing on its customer): rows it returns are rejected. */
export type Consistency = {
  field: string;
  rows: RawBuilder<{ line: number; value: string; reason: string }>;
};

/** Everything the importer needs to know about one kind of record. */
export type ImportKind = {
  name: KindName;
  /** The tables the kind writes (analyzed after an import: PGlite never analyzes on its own). */
  tables: readonly string[];
  /** The tables its triggers keep in step (segment facts): analyzed, and vacuumed on PGlite, with `tables`. */
  derived?: readonly string[];
  /** Columns the file must have. */
  required: readonly string[];
  /** Columns it may have. */
  optional: readonly string[];
  /** Whether `custom.<field>` columns are taken (into custom_fields). */
  customColumns?: boolean;
  /** The natural key columns: rows with the same key are the same record (idempotency). */
  key: readonly string[];
  /** Batches end only where this column changes (so that all lines of an order commit together). */
  groupBy?: string;
  /** Parses one row's text values into staged values (by stage column), given the import's time zone. */
  schema(timeZone: string): z.ZodType<Record<string, unknown>>;
  /** The staging table's typed columns (a `line` column is added before them). */
  stage: readonly (readonly [column: string, type: string])[];
  references: readonly Reference[];
  consistency?: readonly Consistency[];
  /** Writes the staged rows into the kind's tables. */
  write(tx: Transaction, staged: number): Promise<WriteCounts>;
};

/** The temporary table one batch of a kind is loaded into. */
export const stageTable = (name: KindName) => `import_stage_${name}`;

/**
 * Counts an `insert ... on conflict do update ... where <changed> returning (xmax = 0) as inserted`:
 * rows not returned were unchanged. The statement text comes from the kind definitions only (constant
 * identifiers, never user values), which is why it may be raw.
 */
export async function countUpsert(tx: Transaction, statement: string, staged: number): Promise<WriteCounts> {
  const result = await sql<{ inserted: number; updated: number }>`
    with changed as (${sql.raw(statement)} returning (xmax = 0) as inserted)
    select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
    from changed`.execute(tx.db);
  const row = result.rows[0] ?? { inserted: 0, updated: 0 };
  return { inserted: row.inserted, updated: row.updated, unchanged: staged - row.inserted - row.updated };
}

/** `(a, b) is distinct from (excluded.a, excluded.b)` over the given columns of `table`. */
export function changed(table: string, columns: readonly string[]): string {
  return `(${columns.map((c) => `${table}.${c}`).join(', ')}) is distinct from (${columns.map((c) => `excluded.${c}`).join(', ')})`;
}

/** `a = excluded.a, ...` */
export function assignments(columns: readonly string[]): string {
  return columns.map((c) => `${c} = excluded.${c}`).join(', ');
}

/** A reference from a stage column to a code/external-id column of another table. */
export function reference(
  kind: KindName,
  field: string,
  stageColumn: string,
  table: string,
  column: string,
  what: string,
  create?: string,
): Reference {
  const stage = stageTable(kind);
  return {
    field,
    what,
    missing: sql`select s.line, s.${sql.ref(stageColumn)} as value from ${sql.table(stage)} s
      where s.${sql.ref(stageColumn)} is not null
        and not exists (select 1 from ${sql.table(table)} t where t.${sql.ref(column)} = s.${sql.ref(stageColumn)})`,
    create: create ? sql.raw(create) : undefined,
  };
}
