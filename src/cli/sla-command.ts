import type { Command } from 'commander';
import { parseInput } from '../api/validation.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import { KizunaError } from '../errors.ts';
import type { BusinessCalendar, SlaPolicy, StoredCalendar, Weekday } from '../service/index.ts';
import {
  acknowledgeEscalation,
  CalendarInput,
  CalendarPatch,
  createCalendar,
  createPolicy,
  listCalendars,
  listEscalations,
  listPolicies,
  PolicyInput,
  PolicyPatch,
  updateCalendar,
  updatePolicy,
} from '../service/index.ts';
import { positiveInteger, withDatabase } from './main.ts';
import { formatTable } from './output.ts';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * Opening hours written for the command line: `1-5 09:00-18:00; 6 10:00-17:00` (weekdays 0 = Sunday, a
 * range or a comma list, then one or more intervals separated by commas), or the JSON of the API.
 * Times are checked later with the rest of the calendar, so the message names hours.<day>[<n>].
 */
export function parseHours(text: string): BusinessCalendar['hours'] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new KizunaError('invalid_hours', '--hours: not valid JSON', { field: 'hours' });
    }
  }
  const hours: Record<string, Array<[string, string]>> = {};
  for (const part of trimmed
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([0-6](?:-[0-6])?(?:,[0-6](?:-[0-6])?)*)\s+(\S+)$/.exec(part);
    if (!match?.[1] || !match[2]) {
      throw new KizunaError(
        'invalid_hours',
        `--hours: '${part}' is not '<weekdays> <HH:MM>-<HH:MM>[,…]' (e.g. '1-5 09:00-18:00; 6 10:00-17:00')`,
        { field: 'hours' },
      );
    }
    const days = match[1].split(',').flatMap((range) => {
      const [from, to = from] = range.split('-').map(Number) as [number, number?];
      return Array.from({ length: Math.max(0, (to ?? from) - from + 1) }, (_, i) => from + i);
    });
    const intervals = match[2].split(',').map((interval): [string, string] => {
      const [start, end] = interval.split('-');
      if (!start || !end) {
        throw new KizunaError('invalid_hours', `--hours: '${interval}' is not <HH:MM>-<HH:MM>`, {
          field: 'hours',
        });
      }
      return [start, end];
    });
    for (const day of days) hours[String(day)] = [...(hours[String(day)] ?? []), ...intervals];
  }
  return hours as BusinessCalendar['hours'];
}

/** The hours as people read them: 'Mon–Fri 09:00–18:00, Sat 10:00–17:00' (days in a row with equal hours grouped). */
export function describeHours(hours: BusinessCalendar['hours']): string {
  const text = (day: number) =>
    (hours[day as Weekday] ?? []).map(([start, end]) => `${start}–${end}`).join(' ');
  const groups: Array<{ first: number; last: number; text: string }> = [];
  for (let day = 0; day < 7; day++) {
    const value = text(day);
    if (!value) continue;
    const previous = groups[groups.length - 1];
    if (previous && previous.last === day - 1 && previous.text === value) previous.last = day;
    else groups.push({ first: day, last: day, text: value });
  }
  if (groups.length === 0) return 'closed';
  return groups
    .map(({ first, last, text }) => `${WEEKDAYS[first]}${last > first ? `–${WEEKDAYS[last]}` : ''} ${text}`)
    .join(', ');
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** 'any' → null (no condition); otherwise the comma list. */
const condition = (value: string | undefined): string[] | null | undefined =>
  value === undefined ? undefined : value === 'any' ? null : list(value);

/** 'none' → null (no target); otherwise a number of business minutes. */
const target = (value: string | undefined): number | null | undefined =>
  value === undefined ? undefined : value === 'none' ? null : Number(value);

type PolicyOptions = {
  name?: string;
  calendar?: number;
  kinds?: string;
  priorities?: string;
  tiers?: string;
  stores?: string;
  precedence?: string;
  firstResponse?: string;
  nextResponse?: string;
  resolution?: string;
  nearShare?: string;
  nearMinutes?: string;
  active?: boolean;
};

function policyFields(options: PolicyOptions) {
  const stores = condition(options.stores);
  const fields = {
    name: options.name,
    calendarId: options.calendar,
    kinds: condition(options.kinds),
    priorities: condition(options.priorities),
    tiers: condition(options.tiers),
    storeIds: stores === undefined || stores === null ? stores : stores.map(Number),
    precedence: options.precedence === undefined ? undefined : Number(options.precedence),
    firstResponseMinutes: target(options.firstResponse),
    nextResponseMinutes: target(options.nextResponse),
    resolutionMinutes: target(options.resolution),
    nearBreachShare: options.nearShare === undefined ? undefined : Number(options.nearShare),
    nearBreachMinutes: target(options.nearMinutes),
    active: options.active,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function calendarTable(calendars: StoredCalendar[]): string {
  return formatTable(
    ['id', 'name', 'time zone', 'hours', 'holidays'],
    calendars.map((c) => [
      c.id,
      c.name,
      c.timezone,
      describeHours(c.hours),
      c.holidays.length > 3
        ? `${c.holidays.slice(0, 3).join(' ')} … (${c.holidays.length})`
        : c.holidays.join(' '),
    ]),
  );
}

const minutesText = (minutes: number | null) => (minutes === null ? '–' : String(minutes));
const conditionText = (values: readonly (string | number)[] | null) =>
  values === null ? 'any' : values.join(',');

function policyTable(policies: SlaPolicy[], calendars: StoredCalendar[]): string {
  const calendarName = new Map(calendars.map((c) => [c.id, c.name]));
  return formatTable(
    [
      'id',
      'name',
      'prec.',
      'kinds',
      'priorities',
      'tiers',
      'stores',
      'first',
      'next',
      'resolution',
      'near',
      'calendar',
      'active',
    ],
    policies.map((p) => [
      p.id,
      p.name,
      p.precedence,
      conditionText(p.kinds),
      conditionText(p.priorities),
      conditionText(p.tiers),
      conditionText(p.storeIds),
      minutesText(p.firstResponseMinutes),
      minutesText(p.nextResponseMinutes),
      minutesText(p.resolutionMinutes),
      `${Math.round(p.nearBreachShare * 100)} %${p.nearBreachMinutes === null ? '' : ` / ${p.nearBreachMinutes} min`}`,
      calendarName.get(p.calendarId) ?? String(p.calendarId),
      p.active ? 'yes' : 'no',
    ]),
  );
}

function addPolicyOptions(command: Command): Command {
  return command
    .option('--kinds <list>', "inquiry,request,complaint,suggestion,call or 'any'")
    .option('--priorities <list>', "low,normal,high,urgent or 'any'")
    .option('--tiers <list>', "loyal,semi_loyal,regular,new,lapsed or 'any'")
    .option('--stores <ids>', "store ids or 'any'")
    .option('--precedence <n>', 'smaller is tried first (default 100)')
    .option('--first-response <minutes>', "business minutes, or 'none'")
    .option('--next-response <minutes>', "business minutes, or 'none'")
    .option('--resolution <minutes>', "business minutes, or 'none'")
    .option('--near-share <share>', 'near breach when at most this share of the target is left (default 0.2)')
    .option('--near-minutes <minutes>', "or when at most this many minutes are left, or 'none'");
}

export function registerSlaCommand(program: Command): void {
  const sla = program
    .command('sla')
    .description('SLA policies, business-hours calendars and escalations (docs/service-desk.md)');

  const calendars = sla.command('calendars').description('business-hours calendars');
  calendars
    .command('list', { isDefault: true })
    .description('list the calendars')
    .action(async () => {
      await withDatabase(async (database) => console.log(calendarTable(await listCalendars(database))));
    });
  calendars
    .command('add')
    .description("add a calendar, e.g. --hours '1-5 09:00-18:00; 6 10:00-17:00'")
    .requiredOption('--name <name>')
    .requiredOption('--timezone <zone>', 'IANA time zone, e.g. Asia/Tokyo')
    .requiredOption(
      '--hours <hours>',
      "'<weekdays> <from>-<to>; …' (0 = Sunday; an end before the start runs overnight) or JSON",
    )
    .option('--holidays <dates>', 'YYYY-MM-DD,YYYY-MM-DD,…')
    .action(async (options: { name: string; timezone: string; hours: string; holidays?: string }) => {
      const input = parseInput(CalendarInput, {
        name: options.name,
        timezone: options.timezone,
        hours: parseHours(options.hours),
        holidays: options.holidays === undefined ? undefined : list(options.holidays),
      });
      await withDatabase(async (database) =>
        console.log(calendarTable([await createCalendar(database, input)])),
      );
    });
  calendars
    .command('set <id>')
    .description('change a calendar; --add-holidays / --remove-holidays edit the list')
    .option('--name <name>')
    .option('--timezone <zone>')
    .option('--hours <hours>')
    .option('--holidays <dates>', 'replace the holidays')
    .option('--add-holidays <dates>')
    .option('--remove-holidays <dates>')
    .action(
      async (
        idText: string,
        options: {
          name?: string;
          timezone?: string;
          hours?: string;
          holidays?: string;
          addHolidays?: string;
          removeHolidays?: string;
        },
      ) => {
        const id = positiveInteger(idText);
        await withDatabase(async (database) => {
          let holidays = options.holidays === undefined ? undefined : list(options.holidays);
          if (options.addHolidays || options.removeHolidays) {
            const current =
              holidays ?? (await listCalendars(database)).find((c) => c.id === id)?.holidays ?? [];
            const removed = new Set(list(options.removeHolidays ?? ''));
            holidays = [...current, ...list(options.addHolidays ?? '')].filter((d) => !removed.has(d));
          }
          const patch = parseInput(CalendarPatch, {
            name: options.name,
            timezone: options.timezone,
            hours: options.hours === undefined ? undefined : parseHours(options.hours),
            holidays,
          });
          console.log(calendarTable([await updateCalendar(database, id, patch)]));
        });
      },
    );

  const policies = sla.command('policies').description('SLA policies: which tickets, which targets');
  policies
    .command('list', { isDefault: true })
    .description('list the policies in the order they are tried (minutes are business minutes)')
    .action(async () => {
      await withDatabase(async (database) =>
        console.log(policyTable(await listPolicies(database), await listCalendars(database))),
      );
    });
  addPolicyOptions(
    policies
      .command('add')
      .description('add a policy')
      .requiredOption('--name <name>')
      .requiredOption('--calendar <id>', 'business calendar id', positiveInteger),
  ).action(async (options: PolicyOptions) => {
    const input = parseInput(PolicyInput, policyFields(options));
    await withDatabase(async (database) =>
      console.log(policyTable([await createPolicy(database, input)], await listCalendars(database))),
    );
  });
  addPolicyOptions(
    policies
      .command('set <id>')
      .description('change a policy')
      .option('--name <name>')
      .option('--calendar <id>', 'business calendar id', positiveInteger)
      .option('--active', 'apply the policy')
      .option('--inactive', 'retire the policy'),
  ).action(async (idText: string, options: PolicyOptions & { inactive?: boolean }) => {
    const id = positiveInteger(idText);
    const patch = parseInput(
      PolicyPatch,
      policyFields({ ...options, active: options.inactive ? false : options.active }),
    );
    await withDatabase(async (database) =>
      console.log(policyTable([await updatePolicy(database, id, patch)], await listCalendars(database))),
    );
  });

  const escalations = sla
    .command('escalations')
    .description('breached SLA clocks (recorded by `kizuna ticket escalate`)');
  escalations
    .command('list', { isDefault: true })
    .description('open escalations, oldest breach first')
    .option('--all', 'acknowledged ones too')
    .action(async (options: { all?: boolean }) => {
      await withDatabase(async (database) => {
        const rows = await listEscalations(database, CLI_ACTOR, { open: !options.all });
        console.log(
          formatTable(
            [
              'id',
              'ticket',
              'customer',
              'clock',
              'breached at',
              'priority',
              'subject',
              'notified',
              'acknowledged',
            ],
            rows.map((e) => [
              e.id,
              e.interactionId,
              e.customerId,
              e.clock,
              e.breachedAt.toISOString(),
              e.priority,
              e.subject ?? '',
              e.notifiedStaffName ?? '',
              e.acknowledgedAt?.toISOString() ?? '',
            ]),
          ),
        );
      });
    });
  escalations
    .command('ack <id>')
    .description('acknowledge an escalation')
    .action(async (idText: string) => {
      const id = positiveInteger(idText);
      await withDatabase(async (database) => {
        const escalation = await acknowledgeEscalation(database, CLI_ACTOR, id);
        console.log(
          `escalation ${escalation.id} acknowledged at ${escalation.acknowledgedAt?.toISOString()}`,
        );
      });
    });
}
