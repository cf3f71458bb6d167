import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Row } from './columns.ts';

/**
 * A minimal streaming CSV writer (no csv-stringify dependency for ~60 lines). Quoting follows RFC 4180
 * §2.6–2.7: a field containing a comma, a double quote, CR or LF is enclosed in double quotes, and inner
 * double quotes are doubled. Records end with LF rather than RFC 4180's CRLF: csv-parse and PostgreSQL's
 * COPY … CSV accept both, and LF keeps the files friendly to line-based tools (wc -l, head, grep).
 * An empty string is written as nothing (not ""), which COPY … CSV reads as NULL.
 */

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvField(values[i]!);
  }
  return `${line}\n`;
}

/** The values of a row in column order ('' for a missing column). */
export function rowValues(row: Row, columns: readonly string[]): string[] {
  return columns.map((column) => row[column] ?? '');
}

/** Lines are batched into chunks of about this many characters before they reach the stream. */
const CHUNK_CHARS = 64 * 1024;

export class CsvFileWriter {
  private readonly stream: WriteStream;
  private buffer = '';
  private failure: Error | null = null;
  rows = 0;

  constructor(
    path: string,
    private readonly columns: readonly string[],
  ) {
    this.stream = createWriteStream(path, { encoding: 'utf8' });
    // Without a listener an open or write error would crash the process; keep it and throw it to the caller.
    this.stream.on('error', (error) => {
      this.failure = error;
    });
    this.buffer = csvLine(columns);
  }

  /** Buffers one row; call `drain()` regularly (e.g. after each customer) to apply backpressure. */
  write(row: Row): void {
    // Same as csvLine(rowValues(row, columns)) without the intermediate array (this is the hot loop).
    const { columns } = this;
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) line += ',';
      line += csvField(row[columns[i]!] ?? '');
    }
    this.buffer += `${line}\n`;
    this.rows += 1;
  }

  /** True when the buffer is big enough that `drain()` would hand it to the stream. */
  get full(): boolean {
    return this.buffer.length >= CHUNK_CHARS || this.failure !== null;
  }

  /** Hands a full buffer to the stream, and waits while the stream is above its high-water mark. */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer.length < CHUNK_CHARS) return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Gives up on the file (after an error elsewhere): no more writes, the stream is closed. */
  abort(): void {
    this.buffer = '';
    this.stream.destroy();
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer.length > 0) this.stream.write(this.buffer);
    this.buffer = '';
    this.stream.end();
    await finished(this.stream);
    if (this.failure) throw this.failure;
  }
}

/** Writes a whole iterable to one file (used for the small reference files and in tests). */
export async function writeCsvFile(
  path: string,
  columns: readonly string[],
  rows: Iterable<Row>,
): Promise<number> {
  const writer = new CsvFileWriter(path, columns);
  for (const row of rows) {
    writer.write(row);
    await writer.drain();
  }
  await writer.end();
  return writer.rows;
}
