import { formatTable } from './output.ts';

type Flat = Record<string, unknown>;

const isFlatRow = (value: unknown): value is Flat =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((v) => v === null || typeof v !== 'object' || v instanceof Date);

const cell = (value: unknown): string | number => {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toFixed(4));
  return String(value);
};

/** The lists of flat rows inside a report (its tables), by a dotted name. */
export function reportTables(report: unknown, name = ''): { name: string; rows: Flat[] }[] {
  if (Array.isArray(report)) {
    return report.length > 0 && report.every(isFlatRow) ? [{ name, rows: report }] : [];
  }
  if (typeof report !== 'object' || report === null) return [];
  return Object.entries(report).flatMap(([key, value]) => reportTables(value, name ? `${name}.${key}` : key));
}

/** A report as text: its scalar figures, then each of its tables. Works for any report's shape. */
export function formatReport(title: string, report: unknown): string {
  const parts: string[] = [title];
  if (report && typeof report === 'object' && !Array.isArray(report)) {
    const scalars = Object.entries(report).filter(
      ([, v]) => v === null || typeof v !== 'object' || v instanceof Date,
    );
    if (scalars.length) parts.push(scalars.map(([k, v]) => `${k}: ${cell(v)}`).join('\n'));
  }
  for (const table of reportTables(report)) {
    const columns = [...new Set(table.rows.flatMap((r) => Object.keys(r)))];
    parts.push(
      `${table.name ? `${table.name}\n` : ''}${formatTable(
        columns,
        table.rows.map((r) => columns.map((c) => cell(r[c]))),
      )}`,
    );
  }
  return parts.join('\n\n');
}

const csvCell = (value: unknown): string => {
  const text = String(cell(value));
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** The report's largest table as CSV (the one a spreadsheet wants). */
export function reportCsv(report: unknown): string {
  const tables = reportTables(report).sort((a, b) => b.rows.length - a.rows.length);
  const table = tables[0];
  if (!table) return '';
  const columns = [...new Set(table.rows.flatMap((r) => Object.keys(r)))];
  return `${[columns.join(','), ...table.rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
}
