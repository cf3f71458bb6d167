import { randomUUID } from 'node:crypto';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type ImportOptions, type ImportResult, importRecords } from './import.ts';
import type { KindName } from './kind.ts';
import { IMPORT_KINDS } from './kinds/index.ts';
import type { RecordSource } from './read-records.ts';

/** Which Kizuna column each of the file's own columns holds: `{"メール": "email", "会員番号": "external_id"}`. */
export type ColumnMapping = Record<string, string>;

/**
 * The source with its columns renamed by the mapping, so that a shop's own headers need no editing; the
 * importer then reads it as if the file had Kizuna's names. Columns the mapping does not name keep theirs.
 * Refused: a mapped column the file does not have, a target that is not a column of the kind, and two
 * columns landing on one name.
 */
export function mappedSource(source: RecordSource, kindName: KindName, mapping: ColumnMapping): RecordSource {
  const kind = IMPORT_KINDS[kindName];
  const known = new Set([...kind.required, ...kind.optional]);
  for (const [from, to] of Object.entries(mapping)) {
    const field = `mapping.${from}`;
    if (!source.columns.includes(from)) {
      throw new KizunaError('invalid_mapping', `${field}: the file has no column '${from}'`, { field });
    }
    const custom = kind.customColumns === true && to.startsWith('custom.') && to.length > 7;
    if (!known.has(to) && !custom) {
      throw new KizunaError(
        'invalid_mapping',
        `${field}: '${to}' is not a ${kind.name} column (${[...known].join(', ')}${kind.customColumns ? ', custom.<field>' : ''})`,
        { field },
      );
    }
  }
  const columns = source.columns.map((c) => mapping[c] ?? c);
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice !== undefined) {
    const from = source.columns.filter((_c, i) => columns[i] === twice);
    throw new KizunaError(
      'invalid_mapping',
      `mapping: columns ${from.map((c) => `'${c}'`).join(' and ')} would both be '${twice}'`,
      { field: `mapping.${from.at(-1)}` },
    );
  }
  if (Object.keys(mapping).length === 0) return source;
  return {
    ...source,
    columns,
    async *records() {
      for await (const record of source.records()) {
        const values: Record<string, string> = {};
        for (const [column, value] of Object.entries(record.values))
          values[mapping[column] ?? column] = value;
        yield { line: record.line, values };
      }
    },
  };
}

/** The file's column a Kizuna column came from (for error reports in the shop's own words). */
export function sourceColumn(mapping: ColumnMapping, field: string): string {
  return Object.entries(mapping).find(([, to]) => to === field)?.[0] ?? field;
}

export type ImportJobStatus = 'running' | 'done' | 'failed';

export type ImportJob = {
  id: string;
  kind: KindName;
  file: string;
  status: ImportJobStatus;
  /** Data rows in the file (counted before the import starts). */
  totalRows: number;
  /** Rows read and checked so far. */
  rowsDone: number;
  /** Rows whose batch has been committed. */
  committedRows: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** The importer's summary and line-numbered errors, once done. */
  result: ImportResult | null;
  /** Why the whole import failed (a refused file, a database error), when it did. */
  error: { code: string; message: string } | null;
};

/** How many finished jobs are kept for their owners to read (the oldest go first). */
export const KEPT_JOBS = 100;

/**
 * Imports running in the background of this server process. Jobs live in memory: they are gone after a
 * restart (an import interrupted by one keeps its committed batches; running the file again finishes it,
 * since imports are idempotent). Each job is visible to the one who started it only.
 */
export class ImportJobs {
  private readonly jobs = new Map<string, { job: ImportJob; owner: string }>();

  start(
    database: Database,
    owner: string,
    kind: KindName,
    source: RecordSource,
    totalRows: number,
    options: ImportOptions,
    done?: () => Promise<void>,
  ): ImportJob {
    const job: ImportJob = {
      id: randomUUID(),
      kind,
      file: source.name,
      status: 'running',
      totalRows,
      rowsDone: 0,
      committedRows: 0,
      startedAt: new Date(),
      finishedAt: null,
      result: null,
      error: null,
    };
    this.jobs.set(job.id, { job, owner });
    this.forgetOld();
    void importRecords(database, kind, source, {
      ...options,
      dryRun: false,
      onProgress: (p) => {
        job.rowsDone = p.rows;
        job.committedRows = p.committedRows;
      },
    })
      .then((result) => {
        job.result = result;
        job.rowsDone = result.rows;
        job.committedRows = result.committed ? result.rows : 0;
        job.status = 'done';
      })
      .catch((error: unknown) => {
        job.status = 'failed';
        job.error =
          error instanceof KizunaError
            ? { code: error.code, message: error.message }
            : { code: 'import_failed', message: 'the import failed; it has been logged' };
        if (!(error instanceof KizunaError)) console.error('import job failed', error);
      })
      .finally(async () => {
        job.finishedAt = new Date();
        await done?.().catch(() => {});
      });
    return job;
  }

  /** The job, if it exists and `owner` started it. */
  get(id: string, owner: string): ImportJob | null {
    const entry = this.jobs.get(id);
    return entry && entry.owner === owner ? entry.job : null;
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((e) => e.job.status !== 'running');
    for (const { job } of finished.slice(0, Math.max(0, finished.length - KEPT_JOBS)))
      this.jobs.delete(job.id);
  }
}
