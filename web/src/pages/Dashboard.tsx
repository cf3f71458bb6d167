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
import { formatDate, formatMoney, formatMonth, formatNumber, formatPercent } from '../format';
import { type Dashboard as DashboardAnswer, loadDashboard, TIER_ORDER } from './dashboard-data';

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

function Dashboard({ data }: { data: DashboardAnswer }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const toTier = (tier: string) => navigate(`/customers?tier=${encodeURIComponent(tier)}`);
  const latest = data.tiers.now;
  const trend = data.tiers.trend.map((month) => {
    const row: Record<string, string | number> = { period: formatMonth(month.periodEnd) };
    for (const s of month.tiers) row[s.tier] = s.customerShare;
    return row;
  });
  // The loyal share at the start, the middle and the end of the trend: "20 % → 22 % → 25 %".
  const loyalTrend = data.tiers.trend.map((m) => m.tiers.find((s) => s.tier === 'loyal')?.customerShare ?? 0);
  const loyalSteps = loyalTrend.filter(
    (_, i) => i === 0 || i === loyalTrend.length - 1 || i === Math.floor((loyalTrend.length - 1) / 2),
  );
  const transitions = data.tiers.transitions;
  const top20 = data.pareto.topShares.top20;

  return (
    <Stack>
      <Title order={2}>{t('dashboard.title')}</Title>
      <SimpleGrid cols={{ base: 2, md: 5 }}>
        <Figure
          label={t('dashboard.customers')}
          value={formatNumber(data.customers.total)}
          hint={t('dashboard.customersHint', {
            active: formatNumber(data.customers.active),
            fresh: formatNumber(data.customers.newThisMonth),
          })}
          testId="figure-customers"
        />
        <Figure
          label={t('dashboard.revenue')}
          value={formatMoney(data.revenue.last12Months)}
          hint={t('dashboard.revenueHint', { month: formatMoney(data.revenue.thisMonth) })}
        />
        <Figure
          label={t('dashboard.top20')}
          value={formatPercent(top20)}
          hint={t('dashboard.top20Hint')}
          testId="figure-top20"
        />
        <Figure
          label={t('dashboard.atRisk')}
          value={formatNumber(data.atRisk.customers)}
          hint={t('dashboard.atRiskHint')}
        />
        <Figure
          label={t('dashboard.equity')}
          value={formatMoney(data.equity.equity)}
          hint={
            data.equity.change
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
              {t('dashboard.paretoLine', { share: formatPercent(top20) })}
            </Text>
            <ResponsiveContainer width="100%" height={260}>
              <AreaChart
                data={data.pareto.curve}
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
                ? t('dashboard.loyalSteps', { steps: loyalSteps.map((v) => formatPercent(v, 1)).join(' → ') })
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
              {data.measures ? t('dashboard.asOf', { date: formatDate(data.measures.asOf) }) : ''}
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
                  const moves = transitions?.byTier.find((s) => s.tier === tier);
                  return (
                    <Table.Tr key={tier}>
                      <Table.Td>
                        <Group gap={6} wrap="nowrap">
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
                      <Table.Td ta="right">{formatMoney(share?.revenueLast12Months)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.stayed)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.movedUp)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(moves?.fell)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
            <Text size="xs" c="dimmed" mt="xs">
              {transitions
                ? t('dashboard.transitionsBetween', {
                    from: formatMonth(transitions.from),
                    to: formatMonth(transitions.to),
                  })
                : t('dashboard.noSnapshots')}
            </Text>
          </Card>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
