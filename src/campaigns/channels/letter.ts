import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { Database } from '../../db/index.ts';
import { csvLine } from '../../demo/index.ts';
import { type Campaign, getCampaign } from '../campaigns.ts';
import { compileVariant, loadPersonalisation, renderVariant, templateScope } from '../personalisation.ts';
import type { ChannelSender, Delivery } from './channel.ts';

/**
 * Letters (direct mail): "sending" a letter campaign puts each permitted recipient on the print file, and
 * the touch is logged then. The print file is a PDF with one A4 page per letter (address block, date,
 * personalised text) and a mail-merge CSV for a print shop; both are built from the rows marked sent, so
 * they can be downloaded again at any time. Preference notes are never printed.
 *
 * Fonts: PDF's standard Helvetica has no Japanese glyphs; set KIZUNA_LETTER_FONT to a TTF/OTF font file
 * (e.g. Noto Sans JP) for names and addresses in Japanese. The CSV is UTF-8 either way.
 */
export function letterChannel(): ChannelSender {
  return {
    channels: ['letter', 'phone'],
    async deliver(campaign, recipients): Promise<Delivery[]> {
      const subject = campaign.name;
      return recipients.map((r) => ({ customerId: r.customerId, outcome: 'sent', subject }));
    },
  };
}

export type Letter = {
  customerId: number;
  variant: string;
  name: string | null;
  postalCode: string | null;
  address: string | null;
  subject: string;
  text: string;
};

/** The letters of a campaign: every recipient sent a letter, in customer id order, with their text. */
export async function campaignLetters(
  database: Database,
  campaignId: number,
): Promise<{ campaign: Campaign; letters: Letter[] }> {
  const campaign = await getCampaign(database, campaignId);
  const rows = await database.db
    .selectFrom('campaign_recipients')
    .select(['customer_id', 'variant'])
    .where('campaign_id', '=', campaignId)
    .where('state', '=', 'sent')
    .where('channel', '=', 'letter')
    .orderBy('customer_id')
    .execute();
  const people = await loadPersonalisation(
    database,
    rows.map((r) => r.customer_id),
    { notes: false },
  );
  const compiled = new Map(
    campaign.variants.map((v) => [v.code, { v, c: compileVariant(campaign, v, { email: false }) }]),
  );
  const letters = rows.map((row) => {
    const entry = compiled.get(row.variant ?? '') ?? [...compiled.values()][0]!;
    const person = people.get(row.customer_id);
    const message = renderVariant(entry.c, templateScope(campaign, entry.v, person));
    return {
      customerId: row.customer_id,
      variant: entry.v.code,
      name: person?.name ?? null,
      postalCode: person?.postal_code ?? null,
      address: person?.address ?? null,
      subject: message.subject,
      text: message.text.trim(),
    };
  });
  return { campaign, letters };
}

export const LETTER_CSV_COLUMNS = [
  'customer_id',
  'variant',
  'name',
  'postal_code',
  'address',
  'subject',
  'text',
];

/** The mail-merge CSV: one line per letter. */
export function lettersCsv(letters: readonly Letter[]): string {
  return (
    csvLine(LETTER_CSV_COLUMNS) +
    letters
      .map((l) =>
        csvLine([
          String(l.customerId),
          l.variant,
          l.name ?? '',
          l.postalCode ?? '',
          l.address ?? '',
          l.subject,
          l.text,
        ]),
      )
      .join('')
  );
}

/** The print-ready PDF: A4, one page per letter, the address block where a window envelope shows it. */
export function lettersPdf(
  letters: readonly Letter[],
  options: { date?: Date; sender?: string } = {},
): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 56, autoFirstPage: false });
  const font = process.env.KIZUNA_LETTER_FONT;
  if (font && existsSync(font)) doc.registerFont('letter', font);
  const face = font && existsSync(font) ? 'letter' : 'Helvetica';
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  const date = (options.date ?? new Date()).toISOString().slice(0, 10);
  for (const letter of letters) {
    doc.addPage();
    doc
      .font(face)
      .fontSize(9)
      .text(options.sender ?? process.env.KIZUNA_LETTER_SENDER ?? 'Kizuna', 56, 56);
    doc
      .fontSize(11)
      .text([letter.postalCode, letter.address, letter.name].filter(Boolean).join('\n'), 70, 130, {
        width: 250,
      });
    doc.fontSize(10).text(date, 56, 240, { align: 'right' });
    doc.fontSize(13).text(letter.subject, 56, 270);
    doc.moveDown().fontSize(11).text(letter.text, { width: 480, lineGap: 3 });
  }
  if (letters.length === 0) doc.addPage().font(face).text('No letters: nothing was sent on this campaign.');
  doc.end();
  return done;
}
