import type { Database } from '../db/index.ts';
import { type ImportResult, importRecords, iterableSource, KIND_NAMES } from '../importer/index.ts';
import { type DemoOptions, generateDemo } from './index.ts';

export type DemoLoadProgress = { kind: string; rows: number };

/**
 * Loads the synthetic demo retailer into the database through the same import path a shop's own
 * files take (validation, staging, idempotent upserts), kind by kind.
 */
export async function loadDemo(
  database: Database,
  options: DemoOptions,
  onProgress?: (progress: DemoLoadProgress) => void,
): Promise<ImportResult[]> {
  const demo = generateDemo(options);
  const results: ImportResult[] = [];
  for (const kind of KIND_NAMES) {
    const rows = demo[kind]();
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
      throw new Error(`the demo generator produced ${result.errorCount} invalid ${kind} rows: ${sample}`);
    }
    results.push(result);
  }
  return results;
}
