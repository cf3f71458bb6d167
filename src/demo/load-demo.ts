import type { Database } from '../db/index.ts';
import {
  type ImportResult,
  importRecords,
  iterableSource,
  KIND_NAMES,
  type KindName,
} from '../importer/index.ts';
import type { Row } from './columns.ts';
import { type DemoOptions, generateDemo } from './index.ts';

export type DemoLoadProgress = { kind: string; rows: number };

/**
 * Loads rows of each kind through the same import path a shop's own files take (validation, staging,
 * idempotent upserts), kind by kind in load order. Generated data must be valid: any refused row is a bug.
 */
export async function loadRows(
  database: Database,
  rowsOf: (kind: KindName) => Iterable<Row> | undefined,
  onProgress?: (progress: DemoLoadProgress) => void,
): Promise<ImportResult[]> {
  const results: ImportResult[] = [];
  for (const kind of KIND_NAMES) {
    const rows = rowsOf(kind);
    if (!rows) continue;
    const iterator = rows[Symbol.iterator]();
    const first = iterator.next();
    if (first.done) continue;
    const all = (function* () {
      yield first.value;
      yield* { [Symbol.iterator]: () => iterator };
    })();
    const source = iterableSource(`demo ${kind}`, Object.keys(first.value), all);
    const result = await importRecords(database, kind, source, {
      batchSize: 50_000,
      onProgress: (p) => onProgress?.({ kind, rows: p.rows }),
    });
    if (result.errorCount > 0) {
      const sample = result.errors
        .slice(0, 5)
        .map((e) => `line ${e.line} ${e.field}: ${e.reason}`)
        .join('; ');
      throw new Error(`the demo data had ${result.errorCount} invalid ${kind} rows: ${sample}`);
    }
    results.push(result);
  }
  return results;
}

/** Loads the synthetic demo retailer (see index.ts for what it holds and its ground truth). */
export function loadDemo(
  database: Database,
  options: DemoOptions,
  onProgress?: (progress: DemoLoadProgress) => void,
): Promise<ImportResult[]> {
  const demo = generateDemo(options);
  return loadRows(database, (kind) => demo[kind](), onProgress);
}
