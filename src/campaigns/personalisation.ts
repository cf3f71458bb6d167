import { sql } from 'kysely';
import { Liquid, type Template } from 'liquidjs';
import type { Database } from '../db/index.ts';
import type { Campaign, CampaignVariant } from './campaigns.ts';

/**
 * What a message may say about its recipient, read for a whole batch in one statement: name, contact
 * details, the favourite category (most spend on order lines), the last purchase (date and the product
 * with the largest line of that order), and preference notes. Notes are personal: only notes in force
 * (not marked obsolete), and only for customers whose e-mail consent in force is a grant, and only when
 * the caller asks for them (e-mail and newsletter do; letters and call lists do not print them).
 */
export type Personalisation = {
  id: number;
  name: string | null;
  email: string | null;
  postal_code: string | null;
  address: string | null;
  favourite_category: string | null;
  last_purchase_at: Date | null;
  last_product: string | null;
  notes: string[];
};

export async function loadPersonalisation(
  database: Database,
  customerIds: readonly number[],
  options: { notes: boolean },
): Promise<Map<number, Personalisation>> {
  if (customerIds.length === 0) return new Map();
  const notes = options.notes
    ? sql`case when (select k.granted from consents k where k.customer_id = c.id and k.channel = 'email'
                     order by k.recorded_at desc, k.id desc limit 1) then coalesce((
            select json_agg(coalesce(pr.note, pr.key || ': ' || pr.value) order by pr.noted_at desc, pr.id desc)
            from preferences pr where pr.customer_id = c.id and pr.obsolete_at is null), '[]'::json)
          else '[]'::json end`
    : sql`'[]'::json`;
  const { rows } = await sql<Personalisation>`
    select c.id, c.name, c.email, c.postal_code, c.address,
      (select p.category from order_lines l join products p on p.id = l.product_id
        where l.customer_id = c.id group by p.category order by sum(l.amount) desc, p.category limit 1)
        as favourite_category,
      last.ordered_at as last_purchase_at,
      (select p.name from order_lines l join products p on p.id = l.product_id
        where l.customer_id = c.id and l.order_id = last.id order by l.amount desc, l.line_no limit 1) as last_product,
      ${notes} as notes
    from customers c
    left join lateral (
      select o.id, o.ordered_at from orders o where o.customer_id = c.id order by o.ordered_at desc, o.id desc limit 1
    ) last on true
    where c.id = any(${[...customerIds]}::bigint[])`.execute(database.db);
  return new Map(rows.map((r) => [Number(r.id), { ...r, id: Number(r.id), notes: r.notes ?? [] }]));
}

const text = new Liquid({ strictFilters: true });
const html = new Liquid({ strictFilters: true, outputEscape: 'escape' });

export const DEFAULT_SUBJECT = '{{ campaign.name }}';
export const DEFAULT_BODY_TEXT = `Dear {{ customer.name | default: "customer" }},

{{ offer }}
{%- if favourite_category %}

As someone who enjoys {{ favourite_category }}, we thought of you first.
{%- endif %}`;

export const DEFAULT_NEWSLETTER_TEXT = `Dear {{ customer.name | default: "customer" }},
{% for section in sections %}
== {{ section.title }} ==
{{ section.text }}
{% endfor %}`;

const UNSUBSCRIBE_TEXT = '\n\n--\nNo more e-mails from us: {{ unsubscribe_url }}\n';
const UNSUBSCRIBE_HTML =
  '<hr><p style="font-size:small">No more e-mails from us: <a href="{{ unsubscribe_url }}">unsubscribe</a></p>';

export type CompiledVariant = { subject: Template[]; text: Template[]; html: Template[] | null };

/** Parses a variant's templates once; e-mails always carry the unsubscribe link (added when missing). */
export function compileVariant(
  campaign: Pick<Campaign, 'channel'>,
  variant: Pick<CampaignVariant, 'subject' | 'bodyText' | 'bodyHtml'>,
  options: { email: boolean; subject?: string },
): CompiledVariant {
  let bodyText =
    variant.bodyText ?? (campaign.channel === 'newsletter' ? DEFAULT_NEWSLETTER_TEXT : DEFAULT_BODY_TEXT);
  let bodyHtml = variant.bodyHtml;
  if (options.email && !bodyText.includes('unsubscribe_url')) bodyText += UNSUBSCRIBE_TEXT;
  if (options.email && bodyHtml && !bodyHtml.includes('unsubscribe_url')) {
    bodyHtml = bodyHtml.includes('</body>')
      ? bodyHtml.replace('</body>', `${UNSUBSCRIBE_HTML}</body>`)
      : bodyHtml + UNSUBSCRIBE_HTML;
  }
  return {
    subject: text.parse(options.subject ?? variant.subject ?? DEFAULT_SUBJECT),
    text: text.parse(bodyText),
    html: bodyHtml ? html.parse(bodyHtml) : null,
  };
}

const day = (d: Date | null) => (d ? new Date(d).toISOString().slice(0, 10) : null);

/** The variables a template sees (documented in docs/campaigns.md). */
export function templateScope(
  campaign: Pick<Campaign, 'id' | 'name'>,
  variant: Pick<CampaignVariant, 'code' | 'offer'>,
  person: Personalisation | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    campaign: { id: campaign.id, name: campaign.name },
    variant: variant.code,
    offer: variant.offer ?? '',
    customer: { id: person?.id, name: person?.name ?? null, email: person?.email ?? null },
    favourite_category: person?.favourite_category ?? null,
    last_purchase: { date: day(person?.last_purchase_at ?? null), product: person?.last_product ?? null },
    preference_notes: person?.notes ?? [],
    ...extra,
  };
}

export function renderVariant(
  compiled: CompiledVariant,
  scope: Record<string, unknown>,
): { subject: string; text: string; html: string | null } {
  return {
    subject: text.renderSync(compiled.subject, scope).replace(/\s+/g, ' ').trim(),
    text: text.renderSync(compiled.text, scope),
    html: compiled.html ? html.renderSync(compiled.html, scope) : null,
  };
}

/** Renders one plain template (letters, the phone script) for a scope. */
export function renderText(template: string, scope: Record<string, unknown>): string {
  return text.parseAndRenderSync(template, scope);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** The HTML part of a message written as text only: escaped, line breaks kept, links clickable. */
export function textToHtml(message: string): string {
  const escaped = message.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
  const linked = escaped.replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`);
  return `<!doctype html><html><body><div style="white-space:pre-wrap">${linked}</div></body></html>`;
}
