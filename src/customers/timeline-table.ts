import type { StoreRef, Timeline, TimelineCustomer, TimelineEvent } from './timeline.ts';

/**
 * The customer timeline as plain text for `kizuna customer <id|email>`: a header with who the customer is
 * and what they agreed to, then one line per event. Times are printed in UTC (the stored time), and
 * every line is cut to a fixed display width so a terminal does not wrap it.
 */

const LINE_WIDTH = 120;
const KIND_WIDTH = 13;
const MAX_LINES_SHOWN = 3;

// East Asian wide and fullwidth ranges (kanji, kana, hangul, fullwidth forms): two terminal columns each.
// Good enough for Japanese text; combining marks and emoji sequences are not measured exactly.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;

/** Terminal columns a string takes: 2 for wide (e.g. Japanese) characters, 1 otherwise. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += WIDE.test(char) ? 2 : 1;
  return width;
}

function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const char of text) {
    const w = WIDE.test(char) ? 2 : 1;
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}…`;
}

// Customer-entered text goes to a terminal: control characters (escape sequences, newlines) become spaces.
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function splitDecimal(amount: string): { sign: string; whole: string; fraction: string } {
  const negative = amount.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? amount.slice(1) : amount).split('.');
  return { sign: negative ? '-' : '', whole: groupThousands(whole), fraction };
}

/** A decimal string with thousands separators, never through a float: "12300.50" → "12,300.50". */
function formatAmount(amount: string): string {
  const { sign, whole, fraction } = splitDecimal(amount);
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Formats a decimal money string without going through a float: "12300.00" JPY → "¥12,300",
 * "12.50" USD → "USD 12.50". Yen has no minor unit in practice, so ".00" is dropped for it.
 */
export function formatMoney(amount: string, currency = 'JPY'): string {
  if (currency !== 'JPY') return `${currency} ${formatAmount(amount)}`;
  const { sign, whole, fraction } = splitDecimal(amount);
  return `${sign}¥${whole}${/^0*$/.test(fraction) ? '' : `.${fraction}`}`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function withDetails(text: string, details: (string | null)[]): string {
  const shown = details.filter((d) => d !== null && d !== '');
  return shown.length > 0 ? `${text} — ${shown.join(', ')}` : text;
}

/** "2024-05-01 10:00" in UTC. */
function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

function formatDate(iso: string): string {
  return iso.slice(0, 10);
}

function at(store: StoreRef | null): string {
  return store ? ` @${store.code}` : '';
}

function summary(event: TimelineEvent): string {
  switch (event.kind) {
    case 'order': {
      const shown = event.lines
        .slice(0, MAX_LINES_SHOWN)
        .map((line) => `${line.quantity}× ${line.product_name}`)
        .join(', ');
      const more =
        event.lines.length > MAX_LINES_SHOWN ? `, +${event.lines.length - MAX_LINES_SHOWN} more` : '';
      const lines = event.lines.length === 0 ? 'no lines' : `${shown}${more}`;
      return `${event.external_id}${at(event.store)} ${formatMoney(event.total, event.currency)}: ${lines}`;
    }
    case 'return': {
      const order = event.order_external_id ? `${event.order_external_id}${at(event.store)} ` : '';
      const reason = event.reason ? ` — ${event.reason}` : '';
      return `${order}${formatMoney(event.amount, event.currency)}: ${event.quantity}× ${event.product_name}${reason}`;
    }
    case 'touch': {
      const name = event.campaign ?? event.flow ?? event.subject;
      const outcome = event.bounced_at
        ? 'bounced'
        : event.clicked_at
          ? 'clicked'
          : event.opened_at
            ? 'opened'
            : event.delivered_at
              ? 'delivered'
              : 'sent';
      const parts = [
        event.channel,
        name ? `'${name}'` : null,
        event.variant ? `variant ${event.variant}` : null,
        outcome,
        // Touch costs carry no currency of their own, so the amount is shown bare.
        /^0*(\.0*)?$/.test(event.cost) ? null : `(cost ${formatAmount(event.cost)})`,
      ];
      return parts.filter((p) => p !== null).join(' ');
    }
    case 'interaction': {
      const about = event.subject ?? event.body ?? '';
      return withDetails(`${event.interaction_kind} (${event.status}) ${about}`, [
        event.channel,
        event.owner ? event.owner.name : null,
        event.store ? event.store.code : null,
        event.duration_seconds === null ? null : duration(event.duration_seconds),
      ]);
    }
    case 'preference': {
      const what = event.key !== null && event.value !== null ? `${event.key} = ${event.value}` : '';
      const note = event.note ? (what ? ` (${event.note})` : `“${event.note}”`) : '';
      const who = [event.author ? `by ${event.author.name}` : '', event.store ? `at ${event.store.code}` : '']
        .filter(Boolean)
        .join(' ');
      return withDetails(`note ${what}${note}`, [
        who,
        event.source === 'staff' ? null : event.source,
        event.obsolete ? 'obsolete' : null,
      ]);
    }
  }
}

function header(customer: TimelineCustomer): string[] {
  const name = customer.name ?? '(no name)';
  const kana = customer.name_kana ? ` (${customer.name_kana})` : '';
  const ids = [`#${customer.id}`, customer.external_id ? `ext ${customer.external_id}` : null].filter(
    Boolean,
  );
  const flags = [
    customer.do_not_contact ? 'DO NOT CONTACT' : null,
    customer.erased_at ? `erased ${formatDate(customer.erased_at)}` : null,
    customer.merged_into_customer_id !== null ? `merged into #${customer.merged_into_customer_id}` : null,
  ].filter(Boolean);
  const address = [customer.postal_code ? `〒${customer.postal_code}` : null, customer.address]
    .filter(Boolean)
    .join(' ');
  const consents = customer.consents
    .map((c) => `${c.channel} ${c.granted ? 'yes' : 'no'} (${formatDate(c.recorded_at)}, ${c.source})`)
    .join(' · ');
  const store = customer.home_store ? `${customer.home_store.code} ${customer.home_store.name}` : '—';
  const rows: [string, string | null][] = [
    ['email', customer.email],
    ['phone', customer.phone],
    ['address', address || null],
    ['consents', consents || 'none recorded'],
    ['store', `${store} · owner ${customer.account_owner?.name ?? '—'}`],
    ['tags', customer.tags.length > 0 ? customer.tags.join(', ') : null],
  ];
  return [
    clean(`${name}${kana}  ${ids.join(' ')}${flags.length > 0 ? `  [${flags.join(', ')}]` : ''}`),
    ...rows
      .filter((row): row is [string, string] => row[1] !== null)
      .map(([label, value]) => `  ${label.padEnd(10)}${clean(value)}`),
  ];
}

/** Renders a timeline as a plain-text table: customer header, then one line per event, newest first. */
export function formatTimeline(timeline: Timeline): string {
  const out = header(timeline.customer);
  out.push('');
  if (timeline.events.length === 0) {
    out.push('No events.');
  } else {
    out.push(`${'DATE (UTC)'.padEnd(18)}${'KIND'.padEnd(KIND_WIDTH)}SUMMARY`);
    for (const event of timeline.events) {
      const line = `${formatTime(event.at).padEnd(18)}${event.kind.padEnd(KIND_WIDTH)}${clean(summary(event))}`;
      out.push(truncate(line, LINE_WIDTH));
    }
  }
  if (timeline.has_more) out.push('… older events not shown');
  return `${out.join('\n')}\n`;
}
