import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { KizunaError } from '../errors.ts';

/** One input row: its line in the file and its values by column name, all as text ('' when empty). */
export type SourceRecord = { line: number; values: Record<string, string> };

export type FileFormat = 'csv' | 'jsonl';

/** An input the importer reads: the columns it declares and its records. */
export type RecordSource = {
  name: string;
  columns: string[];
  totalBytes?: number;
  bytesRead(): number;
  records(): AsyncIterable<SourceRecord>;
};

export function formatOf(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.txt' || ext === '.tsv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new KizunaError('unknown_format', `${path}: unknown file type '${ext}'; use .csv or .jsonl`);
}

/**
 * Checks that a file is UTF-8 before anything is written, and names the first bad line.
 * A Shift_JIS export read as UTF-8 would otherwise put mojibake into customer names.
 */
export async function assertUtf8(path: string): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let offset = 0;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    try {
      decoder.decode(bytes, { stream: true });
    } catch {
      // Find the first invalid byte in this chunk by decoding growing prefixes line by line.
      let start = 0;
      const probe = new TextDecoder('utf-8', { fatal: true });
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] !== 0x0a) continue;
        try {
          probe.decode(bytes.subarray(start, i + 1));
        } catch {
          break;
        }
        start = i + 1;
        line++;
      }
      throw new KizunaError(
        'wrong_encoding',
        `${basename(path)}:${line}: the file is not UTF-8 (first bad byte near offset ${offset + start}). ` +
          'Save it as UTF-8 (for a Shift_JIS export: iconv -f SHIFT_JIS -t UTF-8 in.csv > out.csv).',
        { field: 'encoding' },
      );
    }
    for (const b of bytes) if (b === 0x0a) line++;
    offset += bytes.length;
  }
  try {
    decoder.decode();
  } catch {
    throw new KizunaError(
      'wrong_encoding',
      `${basename(path)}:${line}: the file ends inside a UTF-8 character.`,
      {
        field: 'encoding',
      },
    );
  }
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map(textOf).join('|');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Flattens one JSON object to text values: arrays join with '|', `custom_fields: {a: 1}` becomes `custom.a`. */
export function flattenJson(object: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'custom_fields' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [field, v] of Object.entries(value)) values[`custom.${field}`] = textOf(v);
    } else {
      values[key] = textOf(value);
    }
  }
  return values;
}

async function csvHeader(path: string): Promise<string[]> {
  const parser = createReadStream(path).pipe(parse({ bom: true, to_line: 1, relax_column_count: true }));
  for await (const row of parser) return (row as string[]).map((c) => c.trim());
  return [];
}

async function jsonlColumns(path: string): Promise<string[]> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const columns = new Set<string>();
  let seen = 0;
  for await (const text of lines) {
    if (!text.trim()) continue;
    try {
      for (const key of Object.keys(flattenJson(JSON.parse(text.replace(/^\uFEFF/, ''))))) columns.add(key);
    } catch {
      // Reported per line when the records are read.
    }
    if (++seen >= 100) break;
  }
  lines.close();
  return [...columns];
}

/** Opens a CSV (UTF-8, with or without BOM, header row) or JSON Lines file as a record source. */
export async function openFileSource(path: string): Promise<RecordSource> {
  const format = formatOf(path);
  const size = (await stat(path).catch(() => undefined))?.size;
  if (size === undefined) throw new KizunaError('file_not_found', `${path}: no such file`);
  await assertUtf8(path);
  const columns = format === 'csv' ? await csvHeader(path) : await jsonlColumns(path);
  let bytes = 0;
  const name = basename(path);
  return {
    name,
    columns,
    totalBytes: size,
    bytesRead: () => bytes,
    records:
      format === 'csv'
        ? () => csvRecords(path, name, (n) => (bytes = n))
        : () => jsonlRecords(path, (n) => (bytes += n)),
  };
}

async function* csvRecords(
  path: string,
  name: string,
  onBytes: (n: number) => void,
): AsyncIterable<SourceRecord> {
  const delimiter = extname(path).toLowerCase() === '.tsv' ? '\t' : ',';
  const parser = createReadStream(path).pipe(
    parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  let header: string[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; bytes: number };
    }>) {
      if (!header) {
        header = record.map((c) => c.trim());
        continue;
      }
      onBytes(info.bytes);
      const values: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) values[header[i]!] = record[i] ?? '';
      if (record.length !== header.length) values.__columns = String(record.length);
      yield { line: info.lines, values };
    }
  } catch (error) {
    const e = error as { message: string; lines?: number };
    throw new KizunaError('malformed_csv', `${name}:${e.lines ?? '?'}: malformed CSV: ${e.message}`);
  }
}

async function* jsonlRecords(path: string, onBytes: (n: number) => void): AsyncIterable<SourceRecord> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const text of lines) {
    line++;
    onBytes(Buffer.byteLength(text) + 1);
    if (!text.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line === 1 ? text.replace(/^\uFEFF/, '') : text);
    } catch (error) {
      yield { line, values: { __invalid: `not valid JSON: ${(error as Error).message}` } };
      continue;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      yield { line, values: { __invalid: 'each line must be one JSON object' } };
      continue;
    }
    yield { line, values: flattenJson(parsed as Record<string, unknown>) };
  }
}

/** A source over records already in memory or generated (the demo loader uses this). */
export function iterableSource(
  name: string,
  columns: string[],
  rows: Iterable<Record<string, string>>,
): RecordSource {
  let count = 0;
  return {
    name,
    columns,
    bytesRead: () => count,
    async *records() {
      let line = 1;
      for (const values of rows) {
        count++;
        yield { line: ++line, values };
      }
    },
  };
}
