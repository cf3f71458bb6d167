import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { type Actor, CLI_ACTOR } from '../auth/index.ts';
import { findCustomer } from '../customers/index.ts';
import type { Database, InteractionChannel } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { csatLink } from '../service/csat.ts';
import { escalateDueBreaches } from '../service/escalation.ts';
import { answerFollowUp, customerOfFollowUp, listFollowUps } from '../service/follow-up.ts';
import { receiveEmail } from '../service/inbound-mail.ts';
import {
  INTERACTION_CHANNELS,
  INTERACTION_KINDS,
  INTERACTION_STATUSES,
  TICKET_PRIORITIES,
} from '../service/interactions.ts';
import { type Percentiles, responseTimeRetention, serviceMeasures } from '../service/measures.ts';
import {
  AssignInput,
  addInternalNote,
  assignTicket,
  breachingTickets,
  customerOfTicket,
  getTicketSummary,
  listStatusChanges,
  listTicketMessages,
  listTickets,
  openTicket,
  replyToTicket,
  setTicketStatus,
  TICKET_QUEUES,
  type Ticket,
  TicketInput,
  ticketSla,
} from '../service/tickets.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable } from './output.ts';

type StaffOption = { staff?: string };

/** The command line acts as the owner; `--staff <code>` acts as that staff member (their queue, their name). */
async function actorFor(database: Database, options: StaffOption): Promise<Actor> {
  if (!options.staff) return CLI_ACTOR;
  const row = await database.db
    .selectFrom('staff')
    .select(['id', 'name'])
    .where('code', '=', options.staff)
    .executeTakeFirst();
  if (!row)
    throw new KizunaError('unknown_staff', `--staff ${options.staff}: no staff member with this code`);
  return { ...CLI_ACTOR, staffId: row.id, name: row.name };
}

const oneOf =
  <T extends string>(values: readonly T[], what: string) =>
  (value: string): T => {
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}`);
    }
    return value as T;
  };

function dateOption(value: string): Date {
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError('must be a date (2025-01-31) or a date-time with a zone');
  }
  return date;
}

const time = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '');

function ticketTable(tickets: readonly (Ticket & { dueAt?: Date | null; sla?: { worst: string } })[]) {
  return formatTable(
    [
      'id',
      'customer',
      'kind',
      'channel',
      'priority',
      'status',
      'assignee',
      'team',
      'opened',
      'first response',
      'subject',
    ],
    tickets.map((t) => [
      t.id,
      t.customerId,
      t.kind,
      t.channel,
      t.priority,
      t.sla ? `${t.status} (${t.sla.worst})` : t.status,
      t.assigneeName ?? '',
      t.teamName ?? '',
      time(t.openedAt),
      time(t.firstResponseAt),
      t.subject ?? '',
    ]),
  );
}

async function customerId(database: Database, key: string): Promise<number> {
  const id = await findCustomer(database, key);
  if (id === null) throw new KizunaError('customer_not_found', `No customer with id or external id ${key}`);
  return id;
}

const minutes = (p: Percentiles) =>
  p.n === 0 ? '' : `${Math.round(p.median ?? 0)} / ${Math.round(p.p90 ?? 0)} (n ${p.n})`;
const percent = (x: number | null) => (x === null ? '' : `${(100 * x).toFixed(1)}%`);

async function bodyOf(options: { body?: string; file?: string }): Promise<string> {
  if (options.file) return readFile(options.file, 'utf8');
  if (options.body) return options.body;
  throw new KizunaError('invalid_request', 'give --body <text> or --file <path>');
}

/** `kizuna ticket …`: the service desk from the shell. */
export function registerTicketCommand(program: Command): void {
  const ticket = program
    .command('ticket')
    .description('service desk: tickets, replies, queues, follow-ups, inbound e-mail, measures');

  ticket
    .command('open <customer>')
    .description('open a ticket for a customer (id or external id)')
    .requiredOption('--subject <text>', 'the subject')
    .option('--kind <kind>', INTERACTION_KINDS.join(' | '), oneOf(INTERACTION_KINDS, '--kind'), 'inquiry')
    .option(
      '--channel <channel>',
      INTERACTION_CHANNELS.join(' | '),
      oneOf(INTERACTION_CHANNELS, '--channel'),
      'phone',
    )
    .option('--priority <p>', TICKET_PRIORITIES.join(' | '), oneOf(TICKET_PRIORITIES, '--priority'), 'normal')
    .option('--body <text>', 'what the customer said')
    .option('--store <id>', 'store id', positiveInteger)
    .option('--assignee <staffId>', 'staff id', positiveInteger)
    .option('--team <teamId>', 'team id', positiveInteger)
    .option('--staff <code>', 'act as this staff member')
    .action(
      async (
        key: string,
        o: StaffOption & {
          subject: string;
          kind: string;
          channel: string;
          priority: string;
          body?: string;
          store?: number;
          assignee?: number;
          team?: number;
        },
      ) => {
        await withDatabase(async (database) => {
          const input = TicketInput.parse({
            kind: o.kind,
            channel: o.channel,
            priority: o.priority,
            subject: o.subject,
            ...(o.body ? { body: o.body } : {}),
            storeId: o.store,
            assigneeStaffId: o.assignee,
            teamId: o.team,
          });
          const t = await openTicket(
            database,
            await actorFor(database, o),
            await customerId(database, key),
            input,
          );
          console.log(`ticket ${t.id} opened (${t.status}, ${t.priority})`);
        });
      },
    );

  ticket
    .command('list')
    .description('tickets in a queue (unfinished by default)')
    .option('--queue <queue>', TICKET_QUEUES.join(' | '), oneOf(TICKET_QUEUES, '--queue'), 'all')
    .option('--status <s...>', `statuses: ${INTERACTION_STATUSES.join(', ')}`)
    .option('--priority <p>', TICKET_PRIORITIES.join(' | '), oneOf(TICKET_PRIORITIES, '--priority'))
    .option('--customer <key>', 'only this customer’s tickets')
    .option('--limit <n>', 'how many', positiveInteger, 50)
    .option('--staff <code>', 'act as this staff member (for --queue mine/team)')
    .action(
      async (
        o: StaffOption & {
          queue: (typeof TICKET_QUEUES)[number];
          status?: string[];
          priority?: (typeof TICKET_PRIORITIES)[number];
          customer?: string;
          limit: number;
        },
      ) => {
        await withDatabase(async (database) => {
          const statuses = o.status?.map(oneOf(INTERACTION_STATUSES, '--status'));
          const { tickets, hasMore } = await listTickets(
            database,
            await actorFor(database, o),
            {
              queue: o.queue,
              statuses,
              priority: o.priority,
              customerId: o.customer ? await customerId(database, o.customer) : undefined,
            },
            { limit: o.limit, offset: 0 },
          );
          console.log(tickets.length === 0 ? 'no tickets' : ticketTable(tickets));
          if (hasMore) console.log(`… more than ${o.limit}; raise --limit`);
        });
      },
    );

  ticket
    .command('queue')
    .description('breaching soon: unfinished tickets near or past their SLA, soonest due first')
    .option('--queue <queue>', TICKET_QUEUES.join(' | '), oneOf(TICKET_QUEUES, '--queue'), 'all')
    .option('--staff <code>', 'act as this staff member (for --queue mine/team)')
    .action(async (o: StaffOption & { queue: (typeof TICKET_QUEUES)[number] }) => {
      await withDatabase(async (database) => {
        const tickets = await breachingTickets(database, await actorFor(database, o), { queue: o.queue });
        if (tickets.length === 0) {
          console.log('nothing near breach');
          return;
        }
        console.log(
          formatTable(
            ['id', 'customer', 'priority', 'status', 'SLA', 'due', 'assignee', 'subject'],
            tickets.map((t) => [
              t.id,
              t.customerId,
              t.priority,
              t.status,
              t.sla.worst,
              time(t.dueAt),
              t.assigneeName ?? '',
              t.subject ?? '',
            ]),
          ),
        );
      });
    });

  ticket
    .command('show <ticketId>')
    .description('a ticket with its messages, status history and SLA clocks')
    .action(async (id: string) => {
      await withDatabase(async (database) => {
        const ticketId = positiveInteger(id);
        const customer = await customerOfTicket(database, ticketId);
        const t = await getTicketSummary(database, CLI_ACTOR, customer, ticketId);
        console.log(
          `#${t.id} ${t.subject ?? ''}\n${t.kind} by ${t.channel}, ${t.priority}, ${t.status}; customer ${t.customerId}; ` +
            `assignee ${t.assigneeName ?? '—'}; team ${t.teamName ?? '—'}\nopened ${time(t.openedAt)}, first response ${time(t.firstResponseAt) || '—'}, resolved ${time(t.resolvedAt) || '—'}`,
        );
        const sla = await ticketSla(database, customer, ticketId);
        if (sla.policy) {
          const clocks = (['firstResponse', 'nextResponse', 'resolution'] as const).flatMap((name) => {
            const c = sla[name];
            return c
              ? [
                  `${name} ${c.state}, due ${time(c.dueAt) || '—'}, ${c.elapsedMinutes}/${c.targetMinutes} min`,
                ]
              : [];
          });
          console.log(`SLA (${sla.policy.name}): ${sla.worst}\n  ${clocks.join('\n  ')}`);
        }
        for (const m of await listTicketMessages(database, CLI_ACTOR, customer, ticketId)) {
          const who =
            m.kind === 'customer_message' ? (m.fromAddress ?? 'customer') : (m.authorName ?? 'staff');
          const files = m.attachments.length > 0 ? ` [${m.attachments.map((a) => a.name).join(', ')}]` : '';
          console.log(`\n— ${time(m.createdAt)} ${m.kind} (${who})${files}\n${m.body ?? ''}`);
        }
        const changes = await listStatusChanges(database, customer, ticketId);
        console.log(`\nstatus: ${changes.map((c) => `${c.toStatus} ${time(c.changedAt)}`).join(' → ')}`);
      });
    });

  const post = (name: 'reply' | 'note', description: string) =>
    ticket
      .command(`${name} <ticketId>`)
      .description(description)
      .option('--body <text>', 'the text')
      .option('--file <path>', 'read the text from a file')
      .option('--staff <code>', 'write as this staff member')
      .option(
        '--status <status>',
        'move the ticket on as well (reply only)',
        oneOf(INTERACTION_STATUSES, '--status'),
      );
  post('reply', 'a public reply (e-mailed when SMTP_URL is set); the first one is the first response').action(
    async (
      id: string,
      o: StaffOption & { body?: string; file?: string; status?: (typeof INTERACTION_STATUSES)[number] },
    ) => {
      await withDatabase(async (database) => {
        const ticketId = positiveInteger(id);
        const customer = await customerOfTicket(database, ticketId);
        const { ticket: t, message } = await replyToTicket(
          database,
          await actorFor(database, o),
          customer,
          ticketId,
          {
            body: await bodyOf(o),
            ...(o.status ? { status: o.status } : {}),
          },
        );
        console.log(
          `reply ${message.id} on ticket ${t.id} (${t.status})${message.delivery ? `, mail ${message.delivery}` : ''}`,
        );
      });
    },
  );
  post('note', 'an internal note (never sent)').action(
    async (id: string, o: StaffOption & { body?: string; file?: string }) => {
      await withDatabase(async (database) => {
        const ticketId = positiveInteger(id);
        const customer = await customerOfTicket(database, ticketId);
        const { message } = await addInternalNote(database, await actorFor(database, o), customer, ticketId, {
          body: await bodyOf(o),
        });
        console.log(`note ${message.id} on ticket ${ticketId}`);
      });
    },
  );

  ticket
    .command('assign <ticketId>')
    .description('assign a ticket to a staff member and/or a team (0 clears)')
    .option('--to <staffId>', 'staff id (0: nobody)')
    .option('--team <teamId>', 'team id (0: none)')
    .action(async (id: string, o: { to?: string; team?: string }) => {
      await withDatabase(async (database) => {
        const ticketId = positiveInteger(id);
        const customer = await customerOfTicket(database, ticketId);
        const value = (v: string | undefined) =>
          v === undefined ? undefined : v === '0' ? null : positiveInteger(v);
        const input = AssignInput.parse({ assigneeStaffId: value(o.to), teamId: value(o.team) });
        const t = await assignTicket(database, CLI_ACTOR, customer, ticketId, input);
        console.log(`ticket ${t.id}: assignee ${t.assigneeName ?? '—'}, team ${t.teamName ?? '—'}`);
      });
    });

  ticket
    .command('status <ticketId> <status>')
    .description(`move a ticket: ${INTERACTION_STATUSES.join(', ')}; resolving schedules the follow-up`)
    .option('--staff <code>', 'act as this staff member')
    .action(async (id: string, status: string, o: StaffOption) => {
      await withDatabase(async (database) => {
        const ticketId = positiveInteger(id);
        const customer = await customerOfTicket(database, ticketId);
        if (!(INTERACTION_STATUSES as readonly string[]).includes(status)) {
          throw new KizunaError('invalid_status', `status must be one of ${INTERACTION_STATUSES.join(', ')}`);
        }
        const next = status as (typeof INTERACTION_STATUSES)[number];
        const t = await setTicketStatus(database, await actorFor(database, o), customer, ticketId, next);
        console.log(`ticket ${t.id}: ${t.status}`);
        if (t.status === 'resolved' || t.status === 'closed') {
          console.log(`satisfaction link: ${(await csatLink(database, customer, ticketId)).url}`);
        }
      });
    });

  ticket
    .command('inbound <file>')
    .description('receive a raw e-mail (.eml): thread it to its ticket or open a new one')
    .option('--refuse-unknown', 'refuse a sender who is no customer (default: create the customer)')
    .action(async (file: string, o: { refuseUnknown?: boolean }) => {
      const raw = await readFile(file);
      await withDatabase(async (database) => {
        const result = await receiveEmail(database, CLI_ACTOR, raw, {
          unknownSender: o.refuseUnknown ? 'refuse' : 'create',
        });
        console.log(
          `${result.outcome}: ticket ${result.ticketId}, customer ${result.customerId}${result.customerCreated ? ' (new)' : ''}`,
        );
      });
    });

  ticket
    .command('follow-ups')
    .description('follow-ups due ("last time you had this problem — how is it now?"), or answer one')
    .option('--mine', 'only mine (with --staff)')
    .option('--due-by <date>', 'due by this date (default now)', dateOption)
    .option('--answer <followUpId>', 'record the answer to this follow-up', positiveInteger)
    .option('--text <answer>', 'the answer (with --answer)')
    .option('--staff <code>', 'act as this staff member')
    .action(async (o: StaffOption & { mine?: boolean; dueBy?: Date; answer?: number; text?: string }) => {
      await withDatabase(async (database) => {
        const actor = await actorFor(database, o);
        if (o.answer !== undefined) {
          if (!o.text)
            throw new KizunaError('invalid_request', '--answer needs --text <what the customer said>');
          const customer = await customerOfFollowUp(database, o.answer);
          const done = await answerFollowUp(database, actor, customer, o.answer, { answer: o.text });
          console.log(`follow-up ${done.id}: ${done.state}`);
          return;
        }
        const { followUps } = await listFollowUps(
          database,
          actor,
          { assignee: o.mine ? 'mine' : undefined, dueBy: o.dueBy },
          { limit: 200, offset: 0 },
        );
        console.log(
          followUps.length === 0
            ? 'no follow-ups due'
            : formatTable(
                ['id', 'due', 'customer', 'ticket', 'prompt'],
                followUps.map((f) => [
                  f.id,
                  time(f.dueAt),
                  f.customerName ?? f.customerId,
                  f.ticketId,
                  f.prompt,
                ]),
              ),
        );
      });
    });

  ticket
    .command('escalate')
    .description('escalate every unfinished ticket whose SLA clock is breached (once per clock)')
    .action(async () => {
      await withDatabase(async (database) => {
        const escalations = await escalateDueBreaches(database);
        console.log(`${escalations.length} new escalation${escalations.length === 1 ? '' : 's'}`);
      });
    });

  ticket
    .command('measures')
    .description(
      'agent or team measures: CSAT, response/resolution times, SLA attainment, return after contact',
    )
    .requiredOption('--from <date>', 'tickets opened from', dateOption)
    .requiredOption('--to <date>', 'until (exclusive)', dateOption)
    .option('--by <by>', 'agent | team', oneOf(['agent', 'team'] as const, '--by'), 'agent')
    .option('--as-of <date>', 'outcome windows must have ended by (default now)', dateOption)
    .action(async (o: { from: Date; to: Date; by: 'agent' | 'team'; asOf?: Date }) => {
      await withDatabase(async (database) => {
        const m = await serviceMeasures(database, o);
        const rows = [...m.groups, { ...m.total, id: null, name: 'all' }];
        console.log(
          formatTable(
            [
              o.by,
              'tickets',
              'resolved',
              'CSAT (n)',
              '1st resp. min med/p90',
              'business',
              'resolution min med/p90',
              'SLA 1st/res',
              'back 90d vs matched',
              'back 180d vs matched',
            ],
            rows.map((g) => [
              g.name ?? (g.id === null ? '(unassigned)' : String(g.id)),
              g.tickets,
              g.resolved,
              g.csat.mean === null ? '' : `${g.csat.mean.toFixed(2)} (${g.csat.responses})`,
              minutes(g.firstResponseMinutes),
              minutes(g.businessFirstResponseMinutes),
              minutes(g.resolutionMinutes),
              `${percent(g.sla.firstResponse.attainment)} / ${percent(g.sla.resolution.attainment)}`,
              ...g.returnAfterContact.map((r) =>
                r.matched === 0 ? '' : `${percent(r.rate)} vs ${percent(r.comparisonRate)} (n ${r.matched})`,
              ),
            ]),
          ),
        );
      });
    });

  ticket
    .command('retention-report')
    .description('response time ↔ retention: repeat purchase and churn by first-response time')
    .requiredOption('--from <date>', 'tickets opened from', dateOption)
    .requiredOption('--to <date>', 'until (exclusive)', dateOption)
    .option('--as-of <date>', 'outcome windows must have ended by (default now)', dateOption)
    .option('--churn-days <n>', 'no order in this many days is churn', positiveInteger, 365)
    .option('--channel <c...>', `only these channels: ${INTERACTION_CHANNELS.join(', ')}`)
    .action(async (o: { from: Date; to: Date; asOf?: Date; churnDays: number; channel?: string[] }) => {
      await withDatabase(async (database) => {
        const channels = o.channel?.map(oneOf(INTERACTION_CHANNELS, '--channel')) as
          | InteractionChannel[]
          | undefined;
        const r = await responseTimeRetention(database, { ...o, channels });
        const ci = (x: { interval: { lower: number; upper: number } | null }) =>
          x.interval ? ` [${percent(x.interval.lower)}–${percent(x.interval.upper)}]` : '';
        console.log(
          formatTable(
            ['first response', 'customers', 'bought ≤90d', 'bought ≤180d', `churn (${r.churnDays}d)`],
            r.buckets.map((b) => [
              b.bucket,
              b.customers,
              ...b.repeat.map((x) => `${percent(x.rate)}${ci(x)} (n ${x.eligible})`),
              `${percent(b.churn.rate)}${ci(b.churn)} (n ${b.churn.eligible})`,
            ]),
          ),
        );
      });
    });
}
