import type { Transporter } from 'nodemailer';
import { signLink } from '../auth/index.ts';
import { DEFAULT_FROM, publicUrl, sendPersonalMail, smtpTransport } from '../campaigns/channels/email.ts';
import { addressOf } from '../campaigns/channels/mime.ts';
import {
  type CompiledVariant,
  compileVariant,
  loadPersonalisation,
  renderVariant,
  templateScope,
} from '../campaigns/personalisation.ts';
import type { Database } from '../db/index.ts';
import type { SendStep } from './definition.ts';

/**
 * A flow's step mail, sent with the campaigns' e-mail pieces: the pooled SMTP transport, the MIME
 * composer (campaigns/channels/mime.ts), the Liquid
 * templates and personalisation (the same variables as campaign mails, plus `flow.name`), the text→HTML
 * part, the signed one-click unsubscribe link (List-Unsubscribe + List-Unsubscribe-Post) and the SMTP
 * error classification (5xx bounce, anything else transient).
 *
 * The Message-ID is `<f{enrollment}.s{step}@kizuna>`, the same on every attempt, so a step re-sent after
 * a crash between the SMTP answer and the commit is recognisable as the same mail by the receiver.
 */
export type StepMail = {
  customerId: number;
  enrollmentId: number;
  flowId: number;
  flowName: string;
  version: number;
  stepIndex: number;
  step: SendStep;
  /** What started the enrollment (e.g. the ticket's subject), as `trigger` in the templates. */
  triggerData?: Record<string, unknown>;
};

export type StepMailOutcome = {
  customerId: number;
  enrollmentId: number;
  outcome: 'sent' | 'transient' | 'bounced' | 'failed';
  subject: string | null;
  error?: string;
};

export interface StepMailer {
  send(mails: readonly StepMail[]): Promise<StepMailOutcome[]>;
  close(): Promise<void>;
}

/** A send step's subject and bodies, in the shape the campaigns' template compiler reads. */
const stepContent = (step: SendStep) => ({
  subject: step.subject,
  bodyText: step.bodyText,
  bodyHtml: step.bodyHtml ?? null,
});

export const stepMessageId = (enrollmentId: number, stepIndex: number) =>
  `<f${enrollmentId}.s${stepIndex}@kizuna>`;

/** The signed unsubscribe link of a step mail (the campaigns' /u/ page; extra names the flow). */
export async function flowUnsubscribeUrl(
  database: Database,
  flowId: number,
  customerId: number,
): Promise<string> {
  const token = await signLink(database, {
    purpose: 'unsubscribe',
    subject: customerId,
    extra: { flow: flowId },
  });
  return `${publicUrl()}/u/${token}`;
}

export type SmtpStepMailerOptions = {
  transport?: Transporter;
  smtpUrl?: string;
  maxConnections?: number;
  from?: string;
};

export function smtpStepMailer(database: Database, options: SmtpStepMailerOptions = {}): StepMailer {
  const transport =
    options.transport ??
    smtpTransport(options.smtpUrl ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525', {
      maxConnections: options.maxConnections,
    });
  const owns = options.transport === undefined;
  const from = options.from ?? process.env.KIZUNA_MAIL_FROM ?? DEFAULT_FROM;
  const envelopeFrom = addressOf(from);
  const compiled = new Map<string, CompiledVariant>();

  /** The step's templates, compiled once per flow version and step (the campaigns' Liquid set-up). */
  function templatesOf(mail: StepMail): CompiledVariant {
    const key = `${mail.flowId}:${mail.version}:${mail.stepIndex}`;
    let templates = compiled.get(key);
    if (!templates) {
      templates = compileVariant({ channel: 'email' }, stepContent(mail.step), { email: true });
      compiled.set(key, templates);
    }
    return templates;
  }

  return {
    async send(mails) {
      const people = await loadPersonalisation(
        database,
        mails.map((m) => m.customerId),
        { notes: true },
      );
      return Promise.all(
        mails.map(async (mail): Promise<StepMailOutcome> => {
          const base = { customerId: mail.customerId, enrollmentId: mail.enrollmentId };
          const person = people.get(mail.customerId);
          if (!person?.email) return { ...base, outcome: 'failed', subject: null, error: 'no_email_address' };
          const templates = templatesOf(mail);
          const link = await flowUnsubscribeUrl(database, mail.flowId, mail.customerId);
          const scope = {
            ...templateScope(
              { id: mail.flowId, name: mail.flowName },
              { code: 'step', offer: null },
              person,
              { unsubscribe_url: link },
            ),
            flow: { id: mail.flowId, name: mail.flowName },
            trigger: mail.triggerData ?? {},
          };
          const message = renderVariant(templates, scope);
          const sent = await sendPersonalMail(transport, {
            from,
            envelopeFrom,
            to: { name: person.name, address: person.email },
            message,
            messageId: stepMessageId(mail.enrollmentId, mail.stepIndex),
            unsubscribeUrl: link,
            headers: { 'X-Kizuna-Flow': String(mail.flowId) },
          });
          return { ...base, subject: message.subject, ...sent };
        }),
      );
    },
    async close() {
      if (owns) transport.close();
    },
  };
}
