import { sql } from 'kysely';
import nodemailer, { type Transporter } from 'nodemailer';
import { CLI_ACTOR, signLink } from '../../auth/index.ts';
import type { Database } from '../../db/index.ts';
import {
  getSegment,
  memberIdsQuery,
  parseRules,
  type RuleNode,
  withDatabaseFacts,
} from '../../segments/index.ts';
import type { Campaign, CampaignVariant } from '../campaigns.ts';
import {
  type CompiledVariant,
  compileVariant,
  loadPersonalisation,
  renderText,
  renderVariant,
  templateScope,
  textToHtml,
} from '../personalisation.ts';
import type { ChannelSender, Delivery, OutgoingRecipient } from './channel.ts';
import { addressOf, composeMessage } from './mime.ts';

export const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:3000';
export const DEFAULT_FROM = 'Kizuna <shop@kizuna.localhost>';

/** The base of links in messages (unsubscribe): KIZUNA_PUBLIC_URL, default http://127.0.0.1:3000. */
export function publicUrl(): string {
  return (process.env.KIZUNA_PUBLIC_URL ?? DEFAULT_PUBLIC_URL).replace(/\/+$/, '');
}

/**
 * An SMTP transport from a URL (SMTP_URL, e.g. smtp://127.0.0.1:2525 or smtps://user:pass@host:465), pooled:
 * `maxConnections` connections kept open and reused, so that sending is not one TCP+SMTP handshake per mail.
 */
export function smtpTransport(url: string, options: { maxConnections?: number } = {}): Transporter {
  const parsed = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname);
  return nodemailer.createTransport({
    host: parsed.hostname,
    port: Number(parsed.port || (parsed.protocol === 'smtps:' ? 465 : 25)),
    secure: parsed.protocol === 'smtps:',
    auth: parsed.username
      ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
      : undefined,
    // The local catcher speaks plain SMTP; elsewhere STARTTLS is used when offered.
    ignoreTLS: loopback,
    pool: true,
    maxConnections: options.maxConnections ?? 10,
    maxMessages: Number.POSITIVE_INFINITY,
  });
}

/** The signed unsubscribe link of one customer for one campaign (GET shows a page, POST is one-click). */
export async function unsubscribeUrl(
  database: Database,
  campaignId: number,
  customerId: number,
): Promise<string> {
  const token = await signLink(database, {
    purpose: 'unsubscribe',
    subject: customerId,
    extra: { campaign: campaignId },
  });
  return `${publicUrl()}/u/${token}`;
}

/** An SMTP answer 5xx is permanent (a bounce); 4xx and connection trouble are transient. */
export function classifySmtpError(error: unknown): 'bounced' | 'transient' {
  // A refused recipient comes back as an envelope error that carries the RCPT answer in rejectedErrors.
  const failure = error as { responseCode?: number; rejectedErrors?: { responseCode?: number }[] };
  const code = failure.responseCode ?? failure.rejectedErrors?.[0]?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600 ? 'bounced' : 'transient';
}

/** One personalised mail, ready to go: the rendered message, its stable Message-ID and unsubscribe link. */
export type PersonalMail = {
  from: string;
  envelopeFrom: string;
  to: { name: string | null; address: string };
  message: { subject: string; text: string; html?: string | null };
  messageId: string;
  unsubscribeUrl: string;
  /** Extra headers naming the sender, e.g. X-Kizuna-Campaign. */
  headers?: Record<string, string>;
};

/**
 * Sends one composed mail (text + HTML, one-click List-Unsubscribe, RFC 8058) and says what became of it:
 * sent, or the SMTP failure classified as a bounce or transient. Campaign and step mails both go this way.
 */
export async function sendPersonalMail(
  transport: Transporter,
  mail: PersonalMail,
): Promise<{ outcome: 'sent' | 'bounced' | 'transient'; error?: string }> {
  try {
    await transport.sendMail({
      envelope: { from: mail.envelopeFrom, to: [mail.to.address] },
      raw: composeMessage({
        from: mail.from,
        to: mail.to,
        subject: mail.message.subject,
        text: mail.message.text,
        html: mail.message.html ?? textToHtml(mail.message.text),
        messageId: mail.messageId,
        headers: {
          'List-Unsubscribe': `<${mail.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          ...mail.headers,
        },
      }),
    });
    return { outcome: 'sent' };
  } catch (error) {
    return { outcome: classifySmtpError(error), error: (error as Error).message.slice(0, 300) };
  }
}

type Section = { title: string; rules: RuleNode | null; bodyText: string; bodyHtml?: string };

/** Which of `ids` are members of each section's segment, as of now (one statement per section). */
async function sectionMembers(
  database: Database,
  sections: readonly Section[],
  ids: readonly number[],
): Promise<Set<number>[]> {
  const scope = await withDatabaseFacts(database, { asOf: new Date(), actor: CLI_ACTOR });
  return Promise.all(
    sections.map(async (section) => {
      if (section.rules === null) return new Set(ids);
      const { rows } = await sql<{ id: number }>`
        select s.id from (${memberIdsQuery(section.rules, scope)}) s where s.id = any(${[...ids]}::bigint[])`.execute(
        database.db,
      );
      return new Set(rows.map((r) => Number(r.id)));
    }),
  );
}

export type EmailChannelOptions = {
  /** A nodemailer transport; or `smtpUrl` to make a pooled one. */
  transport?: Transporter;
  smtpUrl?: string;
  maxConnections?: number;
  from?: string;
};

/**
 * E-mail and newsletter: one personalised message per recipient (Liquid templates, text + HTML parts,
 * composed as MIME by ./mime.ts and handed to the pooled nodemailer transport as is),
 * `List-Unsubscribe` (https link) with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058),
 * the unsubscribe link in the body, and a Message-ID that is the same on every attempt.
 */
export function emailChannel(database: Database, options: EmailChannelOptions): ChannelSender {
  const transport =
    options.transport ??
    smtpTransport(options.smtpUrl ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525', {
      maxConnections: options.maxConnections,
    });
  const ownsTransport = options.transport === undefined;
  const from = options.from ?? process.env.KIZUNA_MAIL_FROM ?? DEFAULT_FROM;
  const envelopeFrom = addressOf(from);
  const compiled = new Map<string, CompiledVariant>();
  const sectionCache = new Map<number, Promise<Section[]>>();

  function templatesOf(campaign: Campaign, variant: CampaignVariant, fallback: boolean): CompiledVariant {
    const key = `${campaign.id}:${variant.code}:${fallback}`;
    let entry = compiled.get(key);
    if (!entry) {
      entry = compileVariant(campaign, variant, {
        email: true,
        subject: fallback ? campaign.content.fallbackSubject : undefined,
      });
      compiled.set(key, entry);
    }
    return entry;
  }

  function sectionsOf(campaign: Campaign): Promise<Section[]> {
    let entry = sectionCache.get(campaign.id);
    if (!entry) {
      entry = Promise.all(
        (campaign.content.sections ?? []).map(async (s) => ({
          title: s.title,
          bodyText: s.bodyText,
          bodyHtml: s.bodyHtml,
          rules:
            s.segment !== undefined
              ? (await getSegment(database, s.segment)).rules
              : s.rules !== undefined
                ? parseRules(s.rules)
                : null,
        })),
      );
      sectionCache.set(campaign.id, entry);
    }
    return entry;
  }

  return {
    channels: ['email', 'newsletter'],
    async deliver(campaign, recipients: readonly OutgoingRecipient[]): Promise<Delivery[]> {
      const ids = recipients.map((r) => r.customerId);
      const people = await loadPersonalisation(database, ids, { notes: true });
      const sections = campaign.channel === 'newsletter' ? await sectionsOf(campaign) : [];
      const members = sections.length ? await sectionMembers(database, sections, ids) : [];
      const variants = new Map(campaign.variants.map((v) => [v.code, v]));
      return Promise.all(
        recipients.map(async (recipient): Promise<Delivery> => {
          const person = people.get(recipient.customerId);
          if (!person?.email) {
            return { customerId: recipient.customerId, outcome: 'failed', error: 'no_email_address' };
          }
          const variant = variants.get(recipient.variant) ?? campaign.variants[0]!;
          const link = await unsubscribeUrl(database, campaign.id, recipient.customerId);
          const base = templateScope(campaign, variant, person, { unsubscribe_url: link });
          const chosen = sections.filter((_, i) => members[i]!.has(recipient.customerId));
          const scope = {
            ...base,
            sections: chosen.map((s) => ({
              title: s.title,
              text: renderText(s.bodyText, base),
              html: s.bodyHtml ? renderText(s.bodyHtml, base) : null,
            })),
          };
          const fallback = recipient.channel !== campaign.channel;
          const message = renderVariant(templatesOf(campaign, variant, fallback), scope);
          const sent = await sendPersonalMail(transport, {
            from,
            envelopeFrom,
            to: { name: person.name, address: person.email },
            message,
            messageId: recipient.messageId,
            unsubscribeUrl: link,
            headers: { 'X-Kizuna-Campaign': String(campaign.id) },
          });
          return { customerId: recipient.customerId, subject: message.subject, ...sent };
        }),
      );
    },
    async close() {
      if (ownsTransport) transport.close();
    },
  };
}
