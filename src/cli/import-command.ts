import { readdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import {
  type ImportOptions,
  type ImportResult,
  importRecords,
  KIND_NAMES,
  type KindName,
  type RecordSource,
} from '../importer/index.ts';
import { formatTable, startProgress } from './output.ts';

export type ImportCommandOptions = Pick<
  ImportOptions,
  'dryRun' | 'strict' | 'createMissing' | 'timeZone' | 'batchSize'
> & {
  errors?: string;
  quiet?: boolean;
  verbose?: boolean;
};

/** Runs one import with a progress bar. */
export async function importWithProgress(
  database: Database,
  kind: KindName,
  source: RecordSource,
  options: ImportCommandOptions,
): Promise<ImportResult> {
  const bar = options.quiet ? undefined : startProgress(`${kind} ${source.name}`, source.totalBytes);
  try {
    return await importRecords(database, kind, source, {
      ...options,
      onBatchCommitted: options.verbose
        ? (batch, rows) =>
            process.stderr.write(`${source.name}: batch ${batch} committed (${rows} rows read)\n`)
        : undefined,
      onProgress: (p) =>
        bar?.update(p.totalBytes ? p.bytes : p.rows, p.totalBytes, `${p.rows.toLocaleString('en-US')} rows`),
    });
  } finally {
    bar?.stop();
  }
}

/** The summary table printed after an import. */
export function formatImportSummary(results: ImportResult[]): string {
  const table = formatTable(
    ['kind', 'file', 'rows', 'inserted', 'updated', 'unchanged', 'rejected', 'seconds', 'rows/s'],
    results.map((r) => [
      r.kind,
      r.file,
      r.rows,
      r.inserted,
      r.updated,
      r.unchanged,
      r.rejected,
      r.seconds.toFixed(2),
      Math.round(r.rows / Math.max(r.seconds, 0.001)),
    ]),
  );
  const notes: string[] = [];
  for (const r of results) {
    for (const [k, v] of Object.entries(r.extra))
      notes.push(`${r.file}: ${k.replace(/_/g, ' ')}: ${v.toLocaleString('en-US')}`);
    if (r.duplicates)
      notes.push(`${r.file}: ${r.duplicates} rows repeated an earlier row's id; the later row was kept`);
    if (r.dryRun) notes.push(`${r.file}: dry run — nothing was written`);
    else if (!r.committed) notes.push(`${r.file}: --strict and ${r.rejected} bad rows — nothing was written`);
    else if (r.inserted + r.updated === 0 && r.rows > 0 && r.rejected === 0) {
      notes.push(`${r.file}: already imported — nothing changed`);
    }
  }
  return notes.length ? `${table}\n\n${notes.join('\n')}` : table;
}

/** The line-numbered list of refused rows (the first `limit`). */
export function formatImportErrors(results: ImportResult[], limit = 30): string {
  const lines: string[] = [];
  for (const r of results) {
    for (const w of r.warnings) lines.push(`warning: ${w}`);
    for (const e of r.errors.slice(0, limit)) {
      lines.push(`${e.file}:${e.line}: ${e.field || 'row'}: ${e.reason}`);
    }
    if (r.errorCount > limit)
      lines.push(
        `… and ${r.errorCount - limit} more errors in ${r.file} (write them all with --errors FILE)`,
      );
  }
  return lines.join('\n');
}

function csvCell(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export async function writeErrorReport(path: string, results: ImportResult[]): Promise<void> {
  const rows = results.flatMap((r) =>
    r.errors.map((e) => [e.file, e.line, e.field, e.value, e.reason].map(csvCell).join(',')),
  );
  await writeFile(path, `file,line,field,value,reason\n${rows.join('\n')}${rows.length ? '\n' : ''}`);
}

/** The files of a directory that name a kind (customers.csv, orders.jsonl…), in load order. */
export async function kindFilesIn(dir: string): Promise<{ kind: KindName; path: string }[]> {
  const names = await readdir(dir).catch(() => {
    throw new KizunaError('file_not_found', `${dir}: no such directory`);
  });
  const found: { kind: KindName; path: string }[] = [];
  for (const kind of KIND_NAMES) {
    const name = names.find(
      (n) => basename(n, extname(n)) === kind && ['.csv', '.jsonl', '.ndjson', '.tsv'].includes(extname(n)),
    );
    if (name) found.push({ kind, path: join(dir, name) });
  }
  if (!found.length) {
    throw new KizunaError(
      'nothing_to_import',
      `${dir}: no files named after a kind (${KIND_NAMES.join(', ')}) with .csv or .jsonl`,
    );
  }
  return found;
}
