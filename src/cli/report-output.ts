import { formatTable } from './output.ts';

type Row = Record<string, unknown>;

const isObject = (value: unknown): value is Row =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/** One row's scalar values, nested objects flattened into dotted columns (`within90.share`); arrays left out. */
function flatten(row: Row, prefix = ''): Row {
  const flat: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (Array.isArray(value)) continue;
    if (isObject(value)) Object.assign(flat, flatten(value, `${prefix}${key}.`));
    else flat[`${prefix}${key}`] = value;
  }
  return flat;
}

const cell = (value: unknown): string | number => {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toFixed(4));
  return String(value);
};

/**
 * The tables inside a report, by a dotted name: every list of objects becomes a table of their scalar
 * (and flattened nested) values; lists inside those objects become tables of their own, named after
 * the row they belong to (e.g. `cohorts[2025-11].months`).
 */
export function reportTables(report: unknown, name = ''): { name: string; rows: Row[] }[] {
  if (Array.isArray(report)) {
    const objects = report.filter(isObject);
    if (objects.length === 0) return [];
    const rows = objects.map((o) => flatten(o)).filter((r) => Object.keys(r).length > 0);
    const tables = rows.length ? [{ name, rows }] : [];
    for (const object of objects) {
      const label = Object.values(object).find((v) => typeof v === 'string' || typeof v === 'number');
      for (const [key, value] of Object.entries(object)) {
        if (Array.isArray(value)) tables.push(...reportTables(value, `${name}[${String(label)}].${key}`));
      }
    }
    return tables;
  }
  if (!isObject(report)) return [];
  return Object.entries(report).flatMap(([key, value]) =>
    Array.isArray(value) || isObject(value) ? reportTables(value, name ? `${name}.${key}` : key) : [],
  );
}

/** A report as text: its scalar figures, then each of its tables. Works for any report's shape. */
export function formatReport(title: string, report: unknown): string {
  const parts: string[] = [title];
  if (isObject(report)) {
    const scalars = Object.entries(flatten(report));
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
  const table = reportTables(report).sort((a, b) => b.rows.length - a.rows.length)[0];
  if (!table) return '';
  const columns = [...new Set(table.rows.flatMap((r) => Object.keys(r)))];
  return `${[columns.join(','), ...table.rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
}
