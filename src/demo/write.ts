import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_COLUMNS, DEMO_FILES, type DemoFile } from './columns.ts';
import { CsvFileWriter } from './csv.ts';
import { DemoGenerator, type DemoManifest, productRows, staffRows, storeRows } from './generate.ts';
import type { DemoOptions } from './params.ts';

/** Customers written so far, of `total`. */
export type DemoProgress = { customers: number; total: number };

const PER_CUSTOMER_FILES = [
  'customers',
  'orders',
  'returns',
  'touches',
  'interactions',
  'preferences',
  'latent',
] as const;

/** Customers between two progress callbacks. */
const PROGRESS_EVERY = 1000;

/**
 * Writes the demo to `outDir` (created if missing): one CSV per DemoFile with a header row, and
 * manifest.json with every count filled in. One pass over the customers feeds all files at once, so each
 * customer is simulated once; memory stays bounded by one customer's history plus the writers' buffers,
 * and each writer waits for its stream to drain (backpressure) before the next customer.
 */
export async function writeDemoFiles(
  options: DemoOptions,
  outDir: string,
  onProgress?: (progress: DemoProgress) => void,
): Promise<DemoManifest> {
  const generator = new DemoGenerator(options);
  await mkdir(outDir, { recursive: true });
  const writers = Object.fromEntries(
    DEMO_FILES.map((file) => [file, new CsvFileWriter(join(outDir, `${file}.csv`), DEMO_COLUMNS[file])]),
  ) as Record<DemoFile, CsvFileWriter>;
  try {
    for (const row of storeRows()) writers.stores.write(row);
    for (const row of staffRows()) writers.staff.write(row);
    for (const row of productRows()) writers.products.write(row);

    const total = generator.world.customers;
    const state = generator.newPass();
    let orderHeaders = 0;
    for (let index = 0; index < total; index++) {
      const rows = generator.customerRows(index, state);
      orderHeaders += rows.orderCount;
      for (const file of PER_CUSTOMER_FILES) {
        const writer = writers[file];
        for (const row of rows[file]) writer.write(row);
        if (writer.full) await writer.drain();
      }
      if (onProgress && ((index + 1) % PROGRESS_EVERY === 0 || index + 1 === total)) {
        onProgress({ customers: index + 1, total });
      }
    }
    for (const file of DEMO_FILES) await writers[file].end();
    const counts = Object.fromEntries(DEMO_FILES.map((file) => [file, writers[file].rows]));
    generator.complete('all', { ...counts, orderHeaders }, state);
  } catch (error) {
    for (const file of DEMO_FILES) writers[file].abort();
    throw error;
  }
  const manifest = generator.manifest();
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  return manifest;
}
