import { describe, expect, it } from 'vitest';
import { formatReport, reportCsv, reportTables } from './report-output.ts';

describe('report output', () => {
  const report = {
    asOf: '2026-10-31',
    topShares: [
      { top: '20 %', revenueShare: 0.74 },
      { top: '5 %', revenueShare: 0.41 },
    ],
    curve: { points: [{ customers: 0.1, revenue: 0.5 }] },
    nested: [{ notFlat: { a: 1 } }],
  };

  it('finds the tables of any report shape, flattening nested objects and splitting nested lists', () => {
    expect(reportTables(report).map((t) => [t.name, t.rows.length])).toEqual([
      ['topShares', 2],
      ['curve.points', 1],
      ['nested', 1],
    ]);
    expect(reportTables(report)[2]!.rows).toEqual([{ 'notFlat.a': 1 }]);
    const cohorts = { cohorts: [{ cohort: '2025-11', customers: 3, months: [{ month: 0, active: 3 }] }] };
    expect(reportTables(cohorts).map((t) => [t.name, t.rows])).toEqual([
      ['cohorts', [{ cohort: '2025-11', customers: 3 }]],
      ['cohorts[2025-11].months', [{ month: 0, active: 3 }]],
    ]);
  });

  it('prints scalars then tables, and exports the largest table as CSV', () => {
    const text = formatReport('Pareto', report);
    expect(text).toContain('asOf: 2026-10-31');
    expect(text).toMatch(/top\s+revenueShare\n/);
    expect(reportCsv({ a: [{ name: 'x, y', n: 1 }], b: [{ v: 1 }, { v: 2 }] })).toBe('v\n1\n2\n');
    expect(reportCsv({ a: [{ name: 'x, "y"', n: 1 }] })).toBe('name,n\n"x, ""y""",1\n');
  });
});
