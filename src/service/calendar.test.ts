import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  type BusinessCalendar,
  businessMinutesBetween,
  calendarProblems,
  isBusinessTime,
} from './calendar.ts';

const at = (iso: string): Date => new Date(iso);

/** Tokyo is UTC+9 all year (no daylight saving): 09:00 JST = 00:00Z. */
const TOKYO: BusinessCalendar = {
  timezone: 'Asia/Tokyo',
  hours: {
    1: [['09:00', '18:00']],
    2: [['09:00', '18:00']],
    3: [['09:00', '18:00']],
    4: [['09:00', '18:00']],
    5: [['09:00', '18:00']],
    6: [['10:00', '17:00']],
  },
  holidays: [],
};

const BERLIN_WEEKDAYS: BusinessCalendar = {
  timezone: 'Europe/Berlin',
  hours: {
    1: [['09:00', '18:00']],
    2: [['09:00', '18:00']],
    3: [['09:00', '18:00']],
    4: [['09:00', '18:00']],
    5: [['09:00', '18:00']],
  },
  holidays: [],
};

describe('addBusinessMinutes and businessMinutesBetween, hand-worked (Asia/Tokyo, Mon–Fri 09–18, Sat 10–17)', () => {
  it('carries over night: Tue 17:30 + 60 min is Wed 09:30', () => {
    // Tue 2026-03-03 17:30 JST = 08:30Z. 30 min until 18:00, the other 30 from Wed 09:00 → Wed 09:30 JST = 00:30Z.
    expect(addBusinessMinutes(TOKYO, at('2026-03-03T08:30:00Z'), 60).toISOString()).toBe(
      '2026-03-04T00:30:00.000Z',
    );
    expect(businessMinutesBetween(TOKYO, at('2026-03-03T08:30:00Z'), at('2026-03-04T00:30:00Z'))).toBe(60);
  });

  it('ends at closing time when the target runs out exactly then', () => {
    // Tue 17:00 JST + 60 = 18:00 JST = 09:00Z the same day, not Wed 09:00.
    expect(addBusinessMinutes(TOKYO, at('2026-03-03T08:00:00Z'), 60).toISOString()).toBe(
      '2026-03-03T09:00:00.000Z',
    );
  });

  it('starts counting at opening time when opened before it', () => {
    // Tue 07:00 JST (= Mon 22:00Z) + 30 → 09:30 JST = 00:30Z.
    expect(addBusinessMinutes(TOKYO, at('2026-03-02T22:00:00Z'), 30).toISOString()).toBe(
      '2026-03-03T00:30:00.000Z',
    );
    expect(addBusinessMinutes(TOKYO, at('2026-03-02T22:00:00Z'), 0).toISOString()).toBe(
      '2026-03-02T22:00:00.000Z',
    );
  });

  it('skips the weekend (Sat has shorter hours, Sun is closed)', () => {
    // Sat 2026-03-07 16:30 JST (07:30Z) + 120: Sat 16:30–17:00 = 30, Sun closed, Mon 09:00 + 90 = 10:30 JST = 01:30Z.
    expect(addBusinessMinutes(TOKYO, at('2026-03-07T07:30:00Z'), 120).toISOString()).toBe(
      '2026-03-09T01:30:00.000Z',
    );
    // Fri 2026-03-06 17:00 JST (08:00Z) + 120: Fri 60, Sat 10:00 + 60 = 11:00 JST = 02:00Z.
    expect(addBusinessMinutes(TOKYO, at('2026-03-06T08:00:00Z'), 120).toISOString()).toBe(
      '2026-03-07T02:00:00.000Z',
    );
    // Fri 12:00 → Mon 12:00 JST: Fri 12–18 = 360, Sat 10–17 = 420, Sun 0, Mon 09–12 = 180 → 960.
    expect(businessMinutesBetween(TOKYO, at('2026-03-06T03:00:00Z'), at('2026-03-09T03:00:00Z'))).toBe(960);
    // Sunday alone has none.
    expect(businessMinutesBetween(TOKYO, at('2026-03-07T15:00:00Z'), at('2026-03-08T15:00:00Z'))).toBe(0);
  });

  it('skips a holiday', () => {
    // Fri 2026-03-20 is a holiday. Thu 2026-03-19 17:00 JST (08:00Z) + 120: Thu 60, Fri none, Sat 10:00 + 60 =
    // Sat 11:00 JST = 02:00Z.
    const withHoliday = { ...TOKYO, holidays: ['2026-03-20'] };
    expect(addBusinessMinutes(withHoliday, at('2026-03-19T08:00:00Z'), 120).toISOString()).toBe(
      '2026-03-21T02:00:00.000Z',
    );
    // Without the holiday the same target ends Fri 10:00 JST = 01:00Z.
    expect(addBusinessMinutes(TOKYO, at('2026-03-19T08:00:00Z'), 120).toISOString()).toBe(
      '2026-03-20T01:00:00.000Z',
    );
    // Thu 12:00 → Sat 12:00 JST: Thu 360 + Fri 0 + Sat 10–12 = 120 → 480 (with Friday: + 540 = 1020).
    expect(businessMinutesBetween(withHoliday, at('2026-03-19T03:00:00Z'), at('2026-03-21T03:00:00Z'))).toBe(
      480,
    );
    expect(businessMinutesBetween(TOKYO, at('2026-03-19T03:00:00Z'), at('2026-03-21T03:00:00Z'))).toBe(1020);
  });

  it('counts several intervals a day (lunch break)', () => {
    const lunch: BusinessCalendar = {
      timezone: 'Asia/Tokyo',
      hours: {
        1: [
          ['13:00', '18:00'],
          ['09:00', '12:00'],
        ],
      },
      holidays: [],
    };
    // Mon 2026-03-02 11:30 JST (02:30Z) + 60: 30 until 12:00, lunch, 13:00 + 30 = 13:30 JST = 04:30Z.
    expect(addBusinessMinutes(lunch, at('2026-03-02T02:30:00Z'), 60).toISOString()).toBe(
      '2026-03-02T04:30:00.000Z',
    );
    // The whole Monday: 3 h + 5 h = 480.
    expect(businessMinutesBetween(lunch, at('2026-03-01T15:00:00Z'), at('2026-03-02T15:00:00Z'))).toBe(480);
  });

  it('is negative when the instants are reversed, and counts fractions of a minute', () => {
    expect(businessMinutesBetween(TOKYO, at('2026-03-04T00:30:00Z'), at('2026-03-03T08:30:00Z'))).toBe(-60);
    // Tue 09:00:00 → 09:00:30 JST: half a minute.
    expect(businessMinutesBetween(TOKYO, at('2026-03-03T00:00:00Z'), at('2026-03-03T00:00:30Z'))).toBe(0.5);
  });
});

describe('time zones', () => {
  it('the same instant is late afternoon in Tokyo and morning in Berlin', () => {
    // 2026-02-10T08:30Z (Tue) = 17:30 JST = 09:30 CET (Berlin is UTC+1 in winter).
    // Tokyo: 30 min Tue, 30 min Wed → Wed 09:30 JST = 00:30Z. Berlin: 10:30 CET = 09:30Z.
    expect(addBusinessMinutes(TOKYO, at('2026-02-10T08:30:00Z'), 60).toISOString()).toBe(
      '2026-02-11T00:30:00.000Z',
    );
    expect(addBusinessMinutes(BERLIN_WEEKDAYS, at('2026-02-10T08:30:00Z'), 60).toISOString()).toBe(
      '2026-02-10T09:30:00.000Z',
    );
    // 00:00Z–12:00Z on Tue: Tokyo 09:00–18:00 JST = 00:00Z–09:00Z → 540; Berlin 09:00 CET = 08:00Z to 12:00Z → 240.
    expect(businessMinutesBetween(TOKYO, at('2026-02-10T00:00:00Z'), at('2026-02-10T12:00:00Z'))).toBe(540);
    expect(
      businessMinutesBetween(BERLIN_WEEKDAYS, at('2026-02-10T00:00:00Z'), at('2026-02-10T12:00:00Z')),
    ).toBe(240);
  });

  it('a Berlin working day is 09–18 local in summer too (UTC+2)', () => {
    // Mon 2026-07-06: 09:00 CEST = 07:00Z, 18:00 CEST = 16:00Z.
    expect(isBusinessTime(BERLIN_WEEKDAYS, at('2026-07-06T06:59:00Z'))).toBe(false);
    expect(isBusinessTime(BERLIN_WEEKDAYS, at('2026-07-06T07:00:00Z'))).toBe(true);
    expect(isBusinessTime(BERLIN_WEEKDAYS, at('2026-07-06T16:00:00Z'))).toBe(false);
    expect(addBusinessMinutes(BERLIN_WEEKDAYS, at('2026-07-06T00:00:00Z'), 540).toISOString()).toBe(
      '2026-07-06T16:00:00.000Z',
    );
  });
});

describe('daylight saving', () => {
  /** A Saturday night shift, 22:00 to 06:00 on Sunday (overnight, belongs to Saturday). */
  const NEW_YORK_NIGHT: BusinessCalendar = {
    timezone: 'America/New_York',
    hours: { 6: [['22:00', '06:00']] },
    holidays: [],
  };
  const BERLIN_SUNDAY: BusinessCalendar = {
    timezone: 'Europe/Berlin',
    hours: { 0: [['00:00', '24:00']] },
    holidays: [],
  };

  it('America/New_York 2026-03-08: the night shift loses an hour', () => {
    // Sat 2026-03-07 22:00 EST (UTC−5) = 2026-03-08T03:00Z; clocks jump 02:00 → 03:00 at 07:00Z;
    // Sun 06:00 EDT (UTC−4) = 10:00Z → 7 real hours = 420 min (a normal Saturday night has 480).
    expect(
      businessMinutesBetween(NEW_YORK_NIGHT, at('2026-03-07T00:00:00Z'), at('2026-03-09T00:00:00Z')),
    ).toBe(420);
    expect(
      businessMinutesBetween(NEW_YORK_NIGHT, at('2026-02-28T00:00:00Z'), at('2026-03-02T00:00:00Z')),
    ).toBe(480);
    // Sat 23:00 EST (04:00Z) + 180 real minutes = 07:00Z = 03:00 EDT (02:00 EST never shows on the clock).
    expect(addBusinessMinutes(NEW_YORK_NIGHT, at('2026-03-08T04:00:00Z'), 180).toISOString()).toBe(
      '2026-03-08T07:00:00.000Z',
    );
    // The end of that night: 420 minutes after 22:00 EST is 06:00 EDT = 10:00Z.
    expect(addBusinessMinutes(NEW_YORK_NIGHT, at('2026-03-08T03:00:00Z'), 420).toISOString()).toBe(
      '2026-03-08T10:00:00.000Z',
    );
  });

  it('America/New_York 2026-11-01: the night shift gains an hour', () => {
    // Sat 2026-10-31 22:00 EDT (UTC−4) = 2026-11-01T02:00Z; 02:00 EDT → 01:00 EST at 06:00Z;
    // Sun 06:00 EST (UTC−5) = 11:00Z → 9 real hours = 540 min.
    expect(
      businessMinutesBetween(NEW_YORK_NIGHT, at('2026-10-31T00:00:00Z'), at('2026-11-02T00:00:00Z')),
    ).toBe(540);
    // 22:00 EDT + 540 → 06:00 EST = 11:00Z; + 480 → 05:00 EST = 10:00Z (not 06:00 by the wall clock).
    expect(addBusinessMinutes(NEW_YORK_NIGHT, at('2026-11-01T02:00:00Z'), 480).toISOString()).toBe(
      '2026-11-01T10:00:00.000Z',
    );
  });

  it('America/New_York: a skipped wall time means just after the gap, a repeated one the first time', () => {
    const sundayEarly: BusinessCalendar = {
      timezone: 'America/New_York',
      hours: { 0: [['02:30', '04:00']] },
      holidays: [],
    };
    // 2026-03-08: 02:30 does not exist → 03:30 EDT = 07:30Z; 04:00 EDT = 08:00Z → 30 min.
    expect(businessMinutesBetween(sundayEarly, at('2026-03-08T00:00:00Z'), at('2026-03-09T00:00:00Z'))).toBe(
      30,
    );
    // 2026-11-01: 02:30 EST = 07:30Z, 04:00 EST = 09:00Z → 90 min.
    expect(businessMinutesBetween(sundayEarly, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'))).toBe(
      90,
    );
    const sundayRepeated: BusinessCalendar = {
      timezone: 'America/New_York',
      hours: { 0: [['01:30', '03:00']] },
      holidays: [],
    };
    // 2026-11-01: 01:30 happens twice; the first is EDT = 05:30Z. 03:00 EST = 08:00Z → 150 min.
    expect(
      businessMinutesBetween(sundayRepeated, at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z')),
    ).toBe(150);
  });

  it('Europe/Berlin 2026-03-29 has 23 hours and 2026-10-25 has 25', () => {
    // 00:00 CET (UTC+1) = 03-28T23:00Z; 24:00 = Mon 00:00 CEST (UTC+2) = 03-29T22:00Z → 23 h = 1380 min.
    expect(
      businessMinutesBetween(BERLIN_SUNDAY, at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z')),
    ).toBe(1380);
    // 00:00 CEST = 10-24T22:00Z; 24:00 = Mon 00:00 CET = 10-25T23:00Z → 25 h = 1500 min.
    expect(
      businessMinutesBetween(BERLIN_SUNDAY, at('2026-10-24T00:00:00Z'), at('2026-10-27T00:00:00Z')),
    ).toBe(1500);
    // 00:00 CET + 180 real minutes = 02:00Z = 04:00 CEST.
    expect(addBusinessMinutes(BERLIN_SUNDAY, at('2026-03-28T23:00:00Z'), 180).toISOString()).toBe(
      '2026-03-29T02:00:00.000Z',
    );
  });

  it('Europe/Berlin working days either side of the changes keep 09–18 local', () => {
    // Fri 2026-03-27 09:00 CET = 08:00Z → Mon 2026-03-30 09:00 CEST = 07:00Z: Friday's 540 minutes only.
    expect(
      businessMinutesBetween(BERLIN_WEEKDAYS, at('2026-03-27T08:00:00Z'), at('2026-03-30T07:00:00Z')),
    ).toBe(540);
    // Fri 2026-10-23 17:00 CEST (15:00Z) + 120: 60 on Friday, Mon 2026-10-26 09:00 CET (08:00Z) + 60 = 09:00Z.
    expect(addBusinessMinutes(BERLIN_WEEKDAYS, at('2026-10-23T15:00:00Z'), 120).toISOString()).toBe(
      '2026-10-26T09:00:00.000Z',
    );
  });
});

describe('overnight hours and holidays', () => {
  const FRIDAY_NIGHT: BusinessCalendar = {
    timezone: 'Asia/Tokyo',
    hours: { 5: [['22:00', '06:00']] },
    holidays: [],
  };

  it('an overnight interval belongs to the day it starts', () => {
    // Fri 2026-03-06 22:00 JST = 13:00Z to Sat 06:00 JST = 21:00Z: 480 minutes.
    expect(businessMinutesBetween(FRIDAY_NIGHT, at('2026-03-06T00:00:00Z'), at('2026-03-08T00:00:00Z'))).toBe(
      480,
    );
    // A holiday on the Friday removes the night; one on the Saturday does not cut it.
    const fridayOff = { ...FRIDAY_NIGHT, holidays: ['2026-03-06'] };
    const saturdayOff = { ...FRIDAY_NIGHT, holidays: ['2026-03-07'] };
    expect(businessMinutesBetween(fridayOff, at('2026-03-06T00:00:00Z'), at('2026-03-08T00:00:00Z'))).toBe(0);
    expect(businessMinutesBetween(saturdayOff, at('2026-03-06T00:00:00Z'), at('2026-03-08T00:00:00Z'))).toBe(
      480,
    );
    // Opened Sat 02:00 JST (Fri 17:00Z), inside the night: 240 minutes until 06:00; + 300 → next Friday 23:00 JST.
    expect(addBusinessMinutes(FRIDAY_NIGHT, at('2026-03-06T17:00:00Z'), 300).toISOString()).toBe(
      '2026-03-13T14:00:00.000Z',
    );
  });

  it('overlapping intervals count once', () => {
    const overlapping: BusinessCalendar = {
      timezone: 'Asia/Tokyo',
      hours: { 1: [['20:00', '04:00']], 2: [['02:00', '05:00']] },
      holidays: [],
    };
    // Mon 20:00 JST → Tue 05:00 JST without double counting 02:00–04:00: 9 h = 540 min.
    expect(businessMinutesBetween(overlapping, at('2026-03-01T15:00:00Z'), at('2026-03-03T15:00:00Z'))).toBe(
      540,
    );
  });

  it('hours open around the clock every day: business time is wall time (no endless merging)', () => {
    const always: BusinessCalendar = {
      timezone: 'Asia/Tokyo',
      hours: Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [['00:00', '24:00']]])),
      holidays: [],
    };
    const from = at('2026-03-04T01:23:00Z');
    expect(addBusinessMinutes(always, from, 60).toISOString()).toBe('2026-03-04T02:23:00.000Z');
    // 30 days later: past several week-long pieces of the merged run.
    expect(addBusinessMinutes(always, from, 30 * 24 * 60).toISOString()).toBe('2026-04-03T01:23:00.000Z');
    expect(businessMinutesBetween(always, from, at('2026-04-03T01:23:00Z'))).toBe(30 * 24 * 60);
    expect(isBusinessTime(always, at('2026-03-20T12:00:00Z'))).toBe(true);
  });

  it('a calendar without hours adds nothing and refuses to find a due time', () => {
    const closed: BusinessCalendar = { timezone: 'Asia/Tokyo', hours: {}, holidays: [] };
    expect(businessMinutesBetween(closed, at('2026-01-01T00:00:00Z'), at('2026-12-31T00:00:00Z'))).toBe(0);
    expect(() => addBusinessMinutes(closed, at('2026-01-01T00:00:00Z'), 1)).toThrow(/no business hours/);
  });
});

describe('calendarProblems', () => {
  it('names the field and why', () => {
    expect(
      calendarProblems({
        timezone: 'Mars/Olympus',
        hours: { 1: [['25:00', '18:00']], 2: [['09:00', '09:00']] },
        holidays: ['2026-02-30'],
      }),
    ).toEqual([
      { path: 'timezone', message: "unknown IANA time zone 'Mars/Olympus'" },
      { path: 'hours.1[0][0]', message: "'25:00' is not a time 00:00–23:59" },
      { path: 'hours.2[0]', message: 'start and end are equal; write 00:00–24:00 for the whole day' },
      { path: 'holidays[0]', message: "'2026-02-30' is not a YYYY-MM-DD date" },
    ]);
    expect(calendarProblems(TOKYO)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties. The oracle reads the wall clock of each whole minute through Intl and checks the hours table
// directly — independent of how calendar.ts turns wall times into instants. Daylight-saving days are left to
// the hand-worked cases above, where a wall time can be missing or repeated.

const zones = ['Asia/Tokyo', 'Europe/Berlin', 'America/New_York', 'Australia/Adelaide'] as const;

const timeArb = fc.integer({ min: 0, max: 47 }).map((half) => {
  const minutes = half * 30;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
});
const intervalArb = fc
  .tuple(timeArb, timeArb)
  .filter(([a, b]) => a !== b)
  .map(([a, b]) => [a, b] as [string, string]);
const calendarArb = fc.record({
  timezone: fc.constantFrom(...zones),
  hours: fc.record(
    {
      0: fc.array(intervalArb, { maxLength: 2 }),
      1: fc.array(intervalArb, { maxLength: 2 }),
      2: fc.array(intervalArb, { maxLength: 2 }),
      3: fc.array(intervalArb, { maxLength: 2 }),
      4: fc.array(intervalArb, { maxLength: 2 }),
      5: fc.array(intervalArb, { maxLength: 2 }),
      6: fc.array(intervalArb, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['6'] },
  ),
  holidays: fc.array(
    fc.integer({ min: 1, max: 28 }).map((day) => `2026-01-${String(day).padStart(2, '0')}`),
    {
      maxLength: 4,
    },
  ),
}) as fc.Arbitrary<BusinessCalendar>;

/** Instants in January 2026 on whole minutes (no zone in the list changes its clocks in January). */
const JANUARY = Date.UTC(2026, 0, 3);
const instantArb = fc
  .integer({ min: 0, max: 20 * 1440 })
  .map((minute) => new Date(JANUARY + minute * 60_000));

const oracleFormatters = new Map<string, Intl.DateTimeFormat>();

function wallOf(timezone: string, instant: Date): { date: string; weekday: number; minute: number } {
  const formatter =
    oracleFormatters.get(timezone) ??
    new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
    });
  oracleFormatters.set(timezone, formatter);
  const parts = formatter.formatToParts(instant);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(part('weekday'));
  return {
    date: `${part('year')}-${part('month')}-${part('day')}`,
    weekday,
    minute: Number(part('hour')) * 60 + Number(part('minute')),
  };
}

function previousDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

function oracleIsOpen(calendar: BusinessCalendar, instant: Date): boolean {
  const { date, weekday, minute } = wallOf(calendar.timezone, instant);
  const toMinutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  const today = calendar.holidays.includes(date) ? [] : (calendar.hours[weekday as 0] ?? []);
  const yesterday = calendar.holidays.includes(previousDate(date))
    ? []
    : (calendar.hours[((weekday + 6) % 7) as 0] ?? []);
  return (
    today.some(([s, e]) => {
      const [start, end] = [toMinutes(s), toMinutes(e)];
      return end > start ? start <= minute && minute < end : start <= minute;
    }) ||
    yesterday.some(([s, e]) => {
      const [start, end] = [toMinutes(s), toMinutes(e)];
      return end <= start && minute < end;
    })
  );
}

describe('properties', () => {
  it('businessMinutesBetween equals a minute-by-minute count of the wall clock', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.integer({ min: 0, max: 3 * 1440 }), (calendar, from, span) => {
        let expected = 0;
        for (let minute = 0; minute < span; minute++) {
          if (oracleIsOpen(calendar, new Date(from.getTime() + minute * 60_000))) expected++;
        }
        expect(businessMinutesBetween(calendar, from, new Date(from.getTime() + span * 60_000))).toBe(
          expected,
        );
      }),
      { numRuns: 60 },
    );
  });

  it('adding then measuring gives the minutes back, and the due time is the earliest such instant', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.integer({ min: 0, max: 5000 }), (calendar, from, minutes) => {
        const due = addBusinessMinutes(calendar, from, minutes);
        expect(businessMinutesBetween(calendar, from, due)).toBe(minutes);
        if (minutes > 0) {
          // One minute earlier is not enough: the last minute before the due time is business time.
          expect(businessMinutesBetween(calendar, from, new Date(due.getTime() - 60_000))).toBe(minutes - 1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('measuring then adding lands at or before the end, with no business time in between', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.integer({ min: 0, max: 6 * 1440 }), (calendar, from, span) => {
        const to = new Date(from.getTime() + span * 60_000);
        const back = addBusinessMinutes(calendar, from, businessMinutesBetween(calendar, from, to));
        expect(back.getTime()).toBeLessThanOrEqual(to.getTime());
        expect(businessMinutesBetween(calendar, back, to)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('is monotonic and additive', () => {
    fc.assert(
      fc.property(
        calendarArb,
        instantArb,
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        (calendar, from, m1, m2) => {
          const [small, large] = m1 <= m2 ? [m1, m2] : [m2, m1];
          const early = addBusinessMinutes(calendar, from, small);
          const late = addBusinessMinutes(calendar, from, large);
          expect(early.getTime()).toBeLessThanOrEqual(late.getTime());
          const a = from;
          const b = new Date(from.getTime() + small * 60_000);
          const c = new Date(from.getTime() + large * 60_000);
          const ab = businessMinutesBetween(calendar, a, b);
          const ac = businessMinutesBetween(calendar, a, c);
          expect(ab).toBeLessThanOrEqual(ac);
          expect(ab + businessMinutesBetween(calendar, b, c)).toBe(ac);
        },
      ),
      { numRuns: 200 },
    );
  });
});
