import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEMO_COLUMNS,
  DEMO_FILES,
  type DemoManifest,
  type DemoProgress,
  generateDemo,
  writeDemoFiles,
} from './index.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('writeDemoFiles', () => {
  it('writes every file with its header, the same rows as generateDemo, and a complete manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kizuna-demo-'));
    dirs.push(dir);
    const out = join(dir, 'nested', 'demo');
    const options = { customers: 1500, seed: 77 };
    const progress: DemoProgress[] = [];
    const returned = await writeDemoFiles(options, out, (p) => progress.push(p));

    expect((await readdir(out)).sort()).toEqual(
      [...DEMO_FILES.map((f) => `${f}.csv`), 'manifest.json'].sort(),
    );
    const demo = generateDemo(options);
    for (const file of DEMO_FILES) {
      const text = await readFile(join(out, `${file}.csv`), 'utf8');
      expect(text.slice(0, text.indexOf('\n')), file).toBe(DEMO_COLUMNS[file].join(','));
      const rows: Record<string, string>[] = parse(text, { columns: true });
      // One pass writing all files at once must agree with the per-file passes (same ids, same values).
      expect(rows, file).toEqual([...demo[file]()]);
      expect(returned.counts[file], file).toBe(rows.length);
    }

    const manifest: DemoManifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual(returned);
    expect(manifest.seed).toBe(77);
    expect(Object.values(manifest.counts).every((count) => typeof count === 'number')).toBe(true);
    expect(manifest.spend).toEqual(demo.manifest().spend);
    expect(progress.at(-1)).toEqual({ customers: 1500, total: 1500 });
    expect(progress.map((p) => p.customers)).toEqual([1000, 1500]);
  });
});
