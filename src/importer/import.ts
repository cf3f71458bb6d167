import { sql } from 'kysely';
import type { Database, Transaction } from '../db/index.ts';
import { copyText } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { assertTimeZone } from './fields.ts';
import { type ImportKind, type KindName, stageTable, type WriteCounts } from './kind.ts';
import { IMPORT_KINDS } from './kinds/index.ts';
import type { RecordSource } from './read-records.ts';

/** One refused row (or field): where, and why. */
export type ImportError = { file: string; line: number; field: string; value?: string; reason: string };

export type ImportProgress = {
  kind: KindName;
  file: string;
  rows: number;
  committedRows: number;
  bytes: number;
  totalBytes?: number;
  seconds: number;
};

export type ImportOptions = {
  batchSize?: number;
  /** Validate and count everything, then roll back: nothing is written. */
  dryRun?: boolean;
  /** One transaction for the whole file; any bad row rolls it all back. */
  strict?: boolean;
  /** Create placeholder customers/products/stores/staff for unknown references instead of refusing the rows. */
  createMissing?: boolean;
  /** Time zone for times written without an offset (default UTC). */
  timeZone?: string;
  /** Keep at most this many errors in the report (all are counted). */
  maxErrors?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Called after each batch is committed (not in strict/dry-run mode, where nothing commits until the end). */
  onBatchCommitted?: (batch: number, committedRows: number) => void;
  /** Test seam: runs inside each batch's transaction just before it commits. */
  beforeCommit?: (batch: number) => void | Promise<void>;
};

export type ImportResult = {
  kind: KindName;
  file: string;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  duplicates: number;
  extra: Record<string, number>;
  errors: ImportError[];
  errorCount: number;
  warnings: string[];
  seconds: number;
  /** Whether the written rows were kept (false for a dry run and a failed strict import). */
  committed: boolean;
  dryRun: boolean;
  strict: boolean;
};

class Rollback extends Error {}

type Batch = { text: string[]; rows: number };

/**
 * PGlite has no autovacuum, so an import does its work: fresh statistics for the planner (without them
 * the analytics queries pick nested loops: a 10,000-customer refresh took 4.6 s instead of 0.45 s), and
 * on PGlite a vacuum of what the import and its triggers wrote, which marks the pages all-visible so that
 * counts can read an index alone (measured at 1 M customers: "bought A, not B" 384 → 100 ms after a
 * 0.7 s vacuum of the category facts). PostgreSQL's autovacuum vacuums on its own.
 */
async function afterImport(database: Database, kind: ImportKind): Promise<void> {
  const tables = [...kind.tables, ...(kind.derived ?? [])].join(', ');
  await sql
    .raw(`${database.engine === 'pglite' ? 'vacuum analyze' : 'analyze'} ${tables}`)
    .execute(database.db);
}

/**
 * Imports one file (or generated source) of one kind. Rows are parsed and validated in TypeScript,
 * loaded per batch into a temporary staging table with COPY, checked against the database there
 * (unknown customers, products, stores), and upserted by their natural keys — so importing the same
 * file twice changes nothing. Each batch is one transaction; with `strict` or `dryRun` the whole file is.
 */
export async function importRecords(
  database: Database,
  kindName: KindName,
  source: RecordSource,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const kind = IMPORT_KINDS[kindName];
  const timeZone = options.timeZone ?? 'UTC';
  try {
    assertTimeZone(timeZone);
  } catch {
    throw new KizunaError('invalid_time_zone', `unknown time zone '${timeZone}' (e.g. Asia/Tokyo)`, {
      field: 'timezone',
    });
  }
  const batchSize = options.batchSize ?? 20_000;
  const maxErrors = options.maxErrors ?? 1000;
  const file = source.name;

  const known = new Set([...kind.required, ...kind.optional]);
  const missing = kind.required.filter((c) => !source.columns.includes(c));
  if (missing.length) {
    throw new KizunaError(
      'missing_columns',
      `${file}:1: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(a ${kind.name} file needs ${kind.required.join(', ')}; it may also have ${kind.optional.join(', ')})`,
      { field: missing[0] },
    );
  }
  const isCustom = (c: string) => kind.customColumns === true && c.startsWith('custom.') && c.length > 7;
  const warnings = source.columns
    .filter((c) => !known.has(c) && !isCustom(c))
    .map((c) => `${file}:1: column '${c}' is not a ${kind.name} column and was ignored`);
  const present = [...known].filter((c) => source.columns.includes(c));
  const customColumns = source.columns.filter(isCustom);

  const schema = kind.schema(timeZone);
  const stageColumns = kind.stage.map(([c]) => c);
  const stage = stageTable(kind.name);
  const result: ImportResult = {
    kind: kind.name,
    file,
    rows: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    duplicates: 0,
    extra: {},
    errors: [],
    errorCount: 0,
    warnings,
    seconds: 0,
    committed: false,
    dryRun: options.dryRun === true,
    strict: options.strict === true,
  };
  const rejectedLines = new Set<number>();
  const reject = (error: ImportError) => {
    result.errorCount++;
    if (!rejectedLines.has(error.line)) {
      rejectedLines.add(error.line);
      result.rejected++;
    }
    if (result.errors.length < maxErrors) result.errors.push(error);
  };

  const started = performance.now();
  let committedRows = 0;
  let batchNo = 0;
  const progress = () =>
    options.onProgress?.({
      kind: kind.name,
      file,
      rows: result.rows,
      committedRows,
      bytes: source.bytesRead(),
      totalBytes: source.totalBytes,
      seconds: (performance.now() - started) / 1000,
    });

  const writeBatch = async (tx: Transaction, batch: Batch) => {
    batchNo++;
    await sql
      .raw(
        `create temp table if not exists ${stage} (line integer not null, ${kind.stage
          .map(([c, t]) => `${c} ${t}`)
          .join(', ')}) on commit drop; truncate ${stage}`,
      )
      .execute(tx.db);
    await tx.copy(stage, ['line', ...stageColumns], batch.text.join(''));
    // Temporary tables are never auto-analyzed; without statistics the planner guesses badly.
    await sql`analyze ${sql.table(stage)}`.execute(tx.db);
    const refuse = async (field: string, rows: { line: number; value: string; reason: string }[]) => {
      if (!rows.length) return;
      for (const r of rows) reject({ file, line: r.line, field, value: r.value, reason: r.reason });
      await sql`delete from ${sql.table(stage)} where line = any(${rows.map((r) => r.line)}::int[])`.execute(
        tx.db,
      );
    };
    // The same record twice in one batch: the later row wins (as it would across batches).
    const keys = kind.key.map((k) => `a.${k}`).join(', ');
    const dupes = await sql<{ line: number; later: number }>`
      delete from ${sql.table(stage)} a using ${sql.table(stage)} b
      where (${sql.raw(keys)}) = (${sql.raw(kind.key.map((k) => `b.${k}`).join(', '))}) and a.line < b.line
      returning a.line, b.line as later`.execute(tx.db);
    result.duplicates += dupes.rows.length;
    for (const d of dupes.rows.slice(0, 20)) {
      warnings.push(
        `${file}:${d.line}: same ${kind.key.join('+')} as line ${d.later}; the later row was kept`,
      );
    }
    for (const ref of kind.references) {
      if (options.createMissing && ref.create) await ref.create.execute(tx.db);
      const missingRows = (await ref.missing.execute(tx.db)).rows;
      await refuse(
        ref.field,
        missingRows.map((r) => ({ ...r, reason: `unknown ${ref.what} '${r.value}'` })),
      );
    }
    for (const check of kind.consistency ?? [])
      await refuse(check.field, (await check.rows.execute(tx.db)).rows);
    const staged = (
      await sql<{ n: number }>`select count(*)::int as n from ${sql.table(stage)}`.execute(tx.db)
    ).rows[0]!.n;
    const counts: WriteCounts = staged
      ? await kind.write(tx, staged)
      : { inserted: 0, updated: 0, unchanged: 0 };
    result.inserted += counts.inserted;
    result.updated += counts.updated;
    result.unchanged += counts.unchanged;
    for (const [k, v] of Object.entries(counts.extra ?? {})) result.extra[k] = (result.extra[k] ?? 0) + v;
    await options.beforeCommit?.(batchNo);
  };

  const run = async (outer?: Transaction) => {
    let batch: Batch = { text: [], rows: 0 };
    let group: string | undefined;
    let sequence = 0;
    const closedGroups = new Set<string>();
    // One batch is written while the next is parsed: on a server the two run on different cores.
    let writing: Promise<void> | undefined;
    const flush = async () => {
      if (!batch.rows) return;
      const current = batch;
      batch = { text: [], rows: 0 };
      await writing;
      const rowsSoFar = result.rows;
      writing = (
        outer ? writeBatch(outer, current) : database.transaction((tx) => writeBatch(tx, current))
      ).then(() => {
        committedRows = rowsSoFar;
        if (!outer) options.onBatchCommitted?.(batchNo, committedRows);
        progress();
      });
      // Handled when awaited (next flush or the end); this keeps it from counting as unhandled meanwhile.
      writing.catch(() => {});
    };

    for await (const record of source.records()) {
      result.rows++;
      const { line, values } = record;
      if (values.__invalid !== undefined) {
        reject({ file, line, field: '', reason: values.__invalid });
        continue;
      }
      if (values.__columns !== undefined) {
        reject({
          file,
          line,
          field: '',
          reason: `the row has ${values.__columns} fields but the header has ${source.columns.length}`,
        });
        continue;
      }
      const input: Record<string, unknown> = {};
      for (const c of present) input[c] = values[c];
      if (customColumns.length) {
        const custom: Record<string, string> = {};
        for (const c of customColumns) if (values[c]) custom[c.slice(7)] = values[c]!;
        input.custom_fields = custom;
      }
      const parsed = schema.safeParse(input);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? '');
          reject({
            file,
            line,
            field,
            value: typeof input[field] === 'string' ? (input[field] as string) : undefined,
            reason: issue.message,
          });
        }
        continue;
      }
      const row = parsed.data;
      if (kind.groupBy) {
        const key = String(row[kind.groupBy]);
        if (key !== group) {
          if (group !== undefined && closedGroups.size < 1_000_000) closedGroups.add(group);
          if (batch.rows >= batchSize) await flush();
          group = key;
          sequence = 0;
        }
        // Lines without a line_no are numbered in file order, which needs the lines of an order together.
        if ('line_no' in row && row.line_no === null) {
          if (closedGroups.has(key)) {
            reject({
              file,
              line,
              field: 'line_no',
              reason: `the lines of order ${key} are not together in the file; give each a line_no`,
            });
            continue;
          }
          row.line_no = ++sequence;
        }
      } else if (batch.rows >= batchSize) {
        await flush();
      }
      let text = String(line);
      for (const c of stageColumns) text += `\t${copyText(row[c])}`;
      batch.text.push(`${text}\n`);
      batch.rows++;
      if (result.rows % 5000 === 0) progress();
    }
    await flush();
    await writing;
    if (outer && (options.dryRun || result.errorCount > 0)) throw new Rollback();
  };

  try {
    if (options.strict || options.dryRun) await database.transaction((tx) => run(tx));
    else await run();
    result.committed = true;
    if (result.inserted + result.updated > 0) await afterImport(database, kind);
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  result.errors.sort((a, b) => a.line - b.line);
  result.seconds = (performance.now() - started) / 1000;
  progress();
  return result;
}
