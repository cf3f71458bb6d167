import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvFileWriter, csvField, csvLine, writeCsvFile } from './csv.ts';

const TRICKY = [
  '',
  'plain',
  '渋谷店 Shibuya',
  '靴がきしむ、交換できますか。',
  'a,b',
  'say "hello"',
  '"',
  'line one\nline two',
  'crlf\r\nend',
  'lone\rcarriage',
  ' leading and trailing ',
  'ワインは氷入り, with ice',
  '😀 emoji',
];

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kizuna-csv-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('CSV writer', () => {
  it('quotes only fields with a comma, quote, CR or LF, doubling inner quotes (RFC 4180 §2.6–2.7)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('x\ny')).toBe('"x\ny"');
    expect(csvField('x\ry')).toBe('"x\ry"');
    expect(csvField('日本語')).toBe('日本語');
    expect(csvLine(['a', 'b,c', ''])).toBe('a,"b,c",\n');
  });

  it('round-trips tricky values through csv-parse', () => {
    const text = TRICKY.map((value, i) => csvLine([String(i), value, value])).join('');
    const records: string[][] = parse(text, { relax_column_count: false });
    expect(records).toHaveLength(TRICKY.length);
    records.forEach((record, i) => {
      expect(record).toEqual([String(i), TRICKY[i], TRICKY[i]]);
    });
  });

  it('writes a file with a header, in column order, through the stream with backpressure', async () => {
    const dir = await tempDir();
    const path = join(dir, 'big.csv');
    const columns = ['id', 'text', 'missing'];
    // Enough rows to pass several 64 KB chunks and the stream's high-water mark.
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      text: TRICKY[i % TRICKY.length]!,
      id: String(i),
    }));
    const count = await writeCsvFile(path, columns, rows);
    expect(count).toBe(rows.length);
    const records: Record<string, string>[] = parse(await readFile(path, 'utf8'), { columns: true });
    expect(records).toHaveLength(rows.length);
    expect(Object.keys(records[0]!)).toEqual(columns);
    records.forEach((record, i) => {
      expect(record).toEqual({ id: String(i), text: TRICKY[i % TRICKY.length], missing: '' });
    });
  });

  it('reports a write error instead of crashing', async () => {
    const dir = await tempDir();
    const writer = new CsvFileWriter(join(dir, 'no-such-dir', 'x.csv'), ['a']);
    writer.write({ a: '1' });
    await expect(writer.end()).rejects.toThrow(/ENOENT/);
  });
});
