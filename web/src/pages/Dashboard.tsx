import { Card, Grid, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatMoney, formatMonth, formatNumber, formatPercent } from '../format';
import { type DashboardView, loadDashboard, TIER_ORDER } from './dashboard-data';

export const TIER_COLOURS: Record<string, string> = {
  loyal: '#364fc7',
  semi_loyal: '#1971c2',
  regular: '#2b8a3e',
  new: '#e67700',
  lapsed: '#868e96',
};

function Figure({
  label,
  value,
  hint,
  testId,
}: {
  label: string;
  value: string;
  hint?: string;
  testId?: string;
}) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Card>
  );
}

export function DashboardPage() {
  const { t } = useTranslation();
  const view = useLoad(loadDashboard, []);
  if (view.loading && !view.data) return <Loader aria-label={t('loading')} />;
  if (!view.data) return <ErrorNotice error={view.error} />;
  return <Dashboard data={view.data} />;
}

function Dashboard({ data }: { data: DashboardView }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const toTier = (tier: string) => navigate(`/customers?tier=${encodeURIComponent(tier)}`);
  const latest = data.tierShares.filter((s) => s.periodEnd === data.latestPeriod);
  const months = [...new Set(data.tierShares.map((s) => s.periodEnd))];
  const trend = months.map((periodEnd) => {
    const row: Record<string, string | number> = { period: formatMonth(periodEnd) };
    for (const s of data.tierShares.filter((x) => x.periodEnd === periodEnd)) row[s.tier] = s.customerShare;
    return row;
  });
  const loyalTrend = months
    .map((m) => data.tierShares.find((s) => s.periodEnd === m && s.tier === 'loyal')?.customerShare)
    .filter((v): v is number => v !== undefined);
  const loyalSteps = loyalTrend.filter(
    (_, i) => i === 0 || i === loyalTrend.length - 1 || i === Math.floor(loyalTrend.length / 2),
  );
  // Higher is better: moving up means a better tier, 'none' (no row in the later month) counts as down.
  const level = (tier: string) => ({ loyal: 4, semi_loyal: 3, regular: 2, new: 1, lapsed: 0 })[tier] ?? -1;
  const summary = TIER_ORDER.map((tier) => {
    const from = data.transitions.filter((x) => x.from === tier);
    const sum = (keep: (to: string) => boolean) =>
      from.filter((x) => keep(x.to)).reduce((n, x) => n + x.customers, 0);
    return {
      tier,
      stayed: sum((to) => to === tier),
      up: sum((to) => level(to) > level(tier)),
      down: sum((to) => to !== tier && level(to) < level(tier)),
    };
  });

  return (
    <Stack>
      <Title order={2}>{t('dashboard.title')}</Title>
      <SimpleGrid cols={{ base: 2, md: 5 }}>
        <Figure
          label={t('dashboard.customers')}
          value={formatNumber(data.customers)}
          testId="figure-customers"
        />
        <Figure label={t('dashboard.revenue')} value={formatMoney(data.revenue)} />
        <Figure
          label={t('dashboard.top20')}
          value={formatPercent(data.top20Share)}
          hint={t('dashboard.top20Hint')}
          testId="figure-top20"
        />
        <Figure
          label={t('dashboard.atRisk')}
          value={formatNumber(data.atRisk)}
          hint={t('dashboard.atRiskHint')}
        />
        <Figure
          label={t('dashboard.equity')}
          value={data.equity ? formatMoney(data.equity.equity) : '—'}
          hint={
            data.equity?.change
              ? t('dashboard.equityChange', { change: formatMoney(data.equity.change) })
              : undefined
          }
        />
      </SimpleGrid>
      <Grid>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder component="section" aria-labelledby="pareto-title">
            <Title order={3} size="h4" id="pareto-title">
              {t('dashboard.pareto')}
            </Title>
            <Text size="sm" c="dimmed" mb="xs">
              {t('dashboard.paretoLine', { share: formatPercent(data.top20Share) })}
            </Text>
            <ResponsiveContainer width="100%" height={260}>
              <AreaChart
                data={data.pareto}
                onClick={() => navigate('/customers?tier=loyal')}
                style={{ cursor: 'pointer' }}
                accessibilityLayer
              >
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis
                  dataKey="customerShare"
                  type="number"
                  domain={[0, 1]}
                  tickFormatter={(v) => formatPercent(v)}
                />
                <YAxis domain={[0, 1]} tickFormatter={(v) => formatPercent(v)} />
                <Tooltip
                  formatter={(v) => formatPercent(Number(v), 1)}
                  labelFormatter={(v) => t('dashboard.topCustomers', { share: formatPercent(Number(v)) })}
                />
                <ReferenceLine x={0.2} stroke="#c92a2a" strokeDasharray="4 4" />
                <Area
                  dataKey="revenueShare"
                  name={t('dashboard.revenueShare')}
                  stroke="#364fc7"
                  fill="#bac8ff"
                />
              </AreaChart>
            </ResponsiveContainer>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder component="section" aria-labelledby="trend-title">
            <Title order={3} size="h4" id="trend-title">
              {t('dashboard.trend')}
            </Title>
            <Text size="sm" c="dimmed" mb="xs">
              {loyalSteps.length > 1
                ? t('dashboard.loyalSteps', { steps: loyalSteps.map((v) => formatPercent(v)).join(' → ') })
                : t('dashboard.noSnapshots')}
            </Text>
            <ResponsiveContainer width="100%" height={260}>
              <LineChart data={trend} accessibilityLayer>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="period" />
                <YAxis tickFormatter={(v) => formatPercent(v)} />
                <Tooltip formatter={(v) => formatPercent(Number(v), 1)} />
                <Legend />
                {TIER_ORDER.map((tier) => (
                  <Line
                    key={tier}
                    dataKey={tier}
                    name={t(`tiers.${tier}`)}
                    stroke={TIER_COLOURS[tier]}
                    strokeWidth={tier === 'loyal' ? 3 : 1.5}
                    dot={false}
                    activeDot={{ onClick: () => toTier(tier), cursor: 'pointer' }}
                  />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder component="section" aria-labelledby="tiers-title">
            <Title order={3} size="h4" id="tiers-title">
              {t('dashboard.tiersNow')}
            </Title>
            <Text size="sm" c="dimmed" mb="xs">
              {data.latestPeriod ? t('dashboard.asOf', { date: formatMonth(data.latestPeriod) }) : ''}
            </Text>
            <ResponsiveContainer width="100%" height={220}>
              <BarChart
                data={latest.map((s) => ({ ...s, label: t(`tiers.${s.tier}`) }))}
                onClick={(state) => {
                  const index = Number(state?.activeTooltipIndex ?? Number.NaN);
                  const tier = latest[index]?.tier;
                  if (tier) toTier(tier);
                }}
                style={{ cursor: 'pointer' }}
                accessibilityLayer
              >
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="label" />
                <YAxis tickFormatter={(v) => formatPercent(v)} />
                <Tooltip formatter={(v) => formatPercent(Number(v), 1)} />
                <Legend />
                <Bar dataKey="customerShare" name={t('dashboard.customerShare')} fill="#4c6ef5" />
                <Bar dataKey="revenueShare" name={t('dashboard.revenueShare')} fill="#e8590c" />
              </BarChart>
            </ResponsiveContainer>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Card withBorder component="section" aria-labelledby="revenue-tier-title">
            <Title order={3} size="h4" id="revenue-tier-title" mb="xs">
              {t('dashboard.byTier')}
            </Title>
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('measures.tier')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.customers')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.revenue')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.stayed')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.up')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.down')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {TIER_ORDER.map((tier) => {
                  const share = latest.find((s) => s.tier === tier);
                  const moves = summary.find((s) => s.tier === tier);
                  return (
                    <Table.Tr key={tier}>
                      <Table.Td>
                        <Group gap={6}>
                          <span
                            aria-hidden
                            style={{ width: 10, height: 10, borderRadius: 5, background: TIER_COLOURS[tier] }}
                          />
                          <a
                            href={`/customers?tier=${tier}`}
                            onClick={(e) => {
                              e.preventDefault();
                              toTier(tier);
                            }}
                          >
                            {t(`tiers.${tier}`)}
                          </a>
                        </Group>
                      </Table.Td>
                      <Table.Td ta="right">
                        {formatNumber(share?.customers)} ({formatPercent(share?.customerShare)})
                      </Table.Td>
                      <Table.Td ta="right">
                        {formatMoney(share?.revenue)} ({formatPercent(share?.revenueShare)})
                      </Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.stayed)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.up)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.down)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
            <Text size="xs" c="dimmed" mt="xs">
              {data.previousPeriod && data.latestPeriod
                ? t('dashboard.transitionsBetween', {
                    from: formatMonth(data.previousPeriod),
                    to: formatMonth(data.latestPeriod),
                  })
                : ''}
            </Text>
          </Card>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
