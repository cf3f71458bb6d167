import i18n from './i18n';

// Numbers, money and dates in the reader's language (Intl), whatever the server's own formatting.
const locale = () => (i18n.language === 'ja' ? 'ja-JP' : 'en-US');

export function formatNumber(value: number | string | null | undefined, digits = 0): string {
  if (value === null || value === undefined || value === '') return '—';
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(value));
}

/** Money arrives as an exact decimal string (numeric(14,2)); shown in yen unless told otherwise. */
export function formatMoney(value: number | string | null | undefined, currency = 'JPY'): string {
  if (value === null || value === undefined || value === '') return '—';
  return new Intl.NumberFormat(locale(), { style: 'currency', currency }).format(Number(value));
}

export function formatPercent(share: number | null | undefined, digits = 0): string {
  if (share === null || share === undefined || Number.isNaN(share)) return '—';
  return new Intl.NumberFormat(locale(), {
    style: 'percent',
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }).format(share);
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00`) : new Date(value);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(date);
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(value),
  );
}

/** A month end such as 2026-10-31 as "Oct 2026" / "2026年10月". */
export function formatMonth(value: string): string {
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short' }).format(
    new Date(`${value.slice(0, 10)}T00:00:00`),
  );
}
