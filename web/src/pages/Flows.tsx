import {
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import type { TFunction } from 'i18next';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Route, Routes, useParams } from 'react-router';
import { api, ok } from '../api/client';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';
import { ListSection, useRowAction } from '../components/ListSection';
import { useLoad } from '../components/useLoad';
import { formatDateTime, formatNumber, formatPercent } from '../format';

// The answers of src/api/flow.routes.ts (src/flows/flows.ts, report.ts, tasks.ts).
type Flow = {
  id: number;
  name: string;
  description: string | null;
  builtin: string | null;
  enabled: boolean;
  enabledAt: string | null;
  currentVersion: number;
};
type BuiltinFlow = {
  key: string;
  name: string;
  description: string;
  flowId: number | null;
  enabled: boolean;
};
type StepReport = {
  version: number;
  index: number;
  kind: string;
  label: string | null;
  executed: number;
  waiting: number;
  sent: number;
  suppressed: number;
  suppressedReasons: Record<string, number>;
  failed: number;
};
type GroupResult = {
  customers: number;
  converted: number;
  rate: number | null;
  interval: { lower: number; upper: number } | null;
};
type FlowReport = {
  flow: { id: number; name: string; currentVersion: number; enabled: boolean };
  asOf: string;
  entered: number;
  heldOut: number;
  goalReached: number;
  states: Record<string, number>;
  steps: StepReport[];
  goal: null | {
    kind: string;
    windowDays: number;
    treated: GroupResult;
    holdout: GroupResult;
    difference: { value: number; lower: number; upper: number } | null;
    pValue: number | null;
    relativeLift: number | null;
  };
};
export type FlowTask = {
  id: number;
  customerId: number;
  customerName: string | null;
  flowId: number;
  flowName: string;
  title: string;
  prompt: string | null;
  dueAt: string;
  state: 'open' | 'done' | 'cancelled';
};

export function FlowsPage() {
  return (
    <Routes>
      <Route index element={<FlowList />} />
      <Route path=":id" element={<FlowReportPage />} />
    </Routes>
  );
}

function FlowList() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const flows = useLoad(() => ok<{ flows: Flow[] }>(api.GET('/api/flows')), []);
  const builtin = useLoad(() => ok<{ builtin: BuiltinFlow[] }>(api.GET('/api/flows/builtin')), []);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState<string | null>(null);

  async function act(name: string, call: () => Promise<unknown>) {
    setBusy(name);
    setError(undefined);
    try {
      await call();
      flows.reload();
      builtin.reload();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(null);
    }
  }
  const switchFlow = (flow: Flow) =>
    act(`flow-${flow.id}`, () =>
      ok(
        flow.enabled
          ? api.POST('/api/flows/{id}/disable', { params: { path: { id: String(flow.id) } } })
          : api.POST('/api/flows/{id}/enable', { params: { path: { id: String(flow.id) } } }),
      ),
    );

  return (
    <Stack>
      <Title order={2}>{t('nav.flows')}</Title>
      <ErrorNotice error={error ?? flows.error ?? builtin.error} />
      {flows.loading && !flows.data && <Loader aria-label={t('loading')} />}
      {flows.data && flows.data.flows.length === 0 && <Text>{t('flows.none')}</Text>}
      {flows.data && flows.data.flows.length > 0 && (
        <Table striped data-testid="flow-list">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('flows.name')}</Table.Th>
              <Table.Th>{t('flows.version')}</Table.Th>
              <Table.Th>{t('flows.status')}</Table.Th>
              <Table.Th>{t('flows.enabledAt')}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {flows.data.flows.map((flow) => (
              <Table.Tr key={flow.id} data-testid={`flow-${flow.id}`}>
                <Table.Td>
                  <Anchor component={Link} to={`/flows/${flow.id}`}>
                    {flow.name}
                  </Anchor>
                  {flow.description && (
                    <Text size="xs" c="dimmed">
                      {flow.description}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{flow.currentVersion}</Table.Td>
                <Table.Td>
                  <Badge
                    variant="outline"
                    color={flow.enabled ? 'teal.9' : 'gray.7'}
                    data-testid="flow-state"
                  >
                    {flow.enabled ? t('flows.on') : t('flows.off')}
                  </Badge>
                </Table.Td>
                <Table.Td>{flow.enabled ? formatDateTime(flow.enabledAt) : '—'}</Table.Td>
                <Table.Td>
                  {(flow.enabled ? can('campaigns:write') : can('campaigns:send')) && (
                    <Button
                      size="xs"
                      variant="default"
                      loading={busy === `flow-${flow.id}`}
                      onClick={() => void switchFlow(flow)}
                    >
                      {flow.enabled ? t('flows.switchOff') : t('flows.switchOn')}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Title order={3} size="h4">
        {t('flows.builtinTitle')}
      </Title>
      {builtin.data && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          {builtin.data.builtin.map((b) => (
            <Card key={b.key} withBorder data-testid={`builtin-${b.key}`}>
              <Group justify="space-between" mb={4}>
                <Text fw={600}>{b.name}</Text>
                <Badge variant="outline" color={b.enabled ? 'teal.9' : 'gray.7'}>
                  {b.enabled ? t('flows.on') : t('flows.off')}
                </Badge>
              </Group>
              <Text size="sm">{b.description}</Text>
              {!b.enabled && can('campaigns:send') && (
                <Button
                  mt="sm"
                  size="xs"
                  w="fit-content"
                  loading={busy === `builtin-${b.key}`}
                  aria-label={t('flows.switchOnNamed', { name: b.name })}
                  onClick={() =>
                    void act(`builtin-${b.key}`, () =>
                      ok(api.POST('/api/flows/builtin/{key}/enable', { params: { path: { key: b.key } } })),
                    )
                  }
                >
                  {t('flows.switchOn')}
                </Button>
              )}
            </Card>
          ))}
        </SimpleGrid>
      )}
      <FlowTasks />
    </Stack>
  );
}

/** Staff tasks the flows created for the caller's stores' customers, due first, with "done". */
export function FlowTasks() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const tasks = useLoad(() => ok<{ tasks: FlowTask[] }>(api.GET('/api/flow-tasks')), []);
  const [outcomes, setOutcomes] = useState<Record<number, string>>({});
  const action = useRowAction(tasks.reload);
  const done = (id: number) =>
    action.run(() =>
      ok(
        api.POST('/api/flow-tasks/{id}/done', {
          params: { path: { id: String(id) } },
          body: { outcome: outcomes[id]?.trim() ?? '' } as never,
        }),
      ),
    );
  return (
    <ListSection
      id="flow-tasks"
      title={t('flows.tasks.title')}
      list={tasks}
      items={tasks.data?.tasks}
      empty={t('flows.tasks.none')}
      error={action.error}
    >
      {(items) => (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('flows.tasks.due')}</Table.Th>
              <Table.Th>{t('flows.tasks.customer')}</Table.Th>
              <Table.Th>{t('flows.tasks.task')}</Table.Th>
              <Table.Th>{t('flows.tasks.flow')}</Table.Th>
              {can('interactions:write') && <Table.Th>{t('flows.tasks.outcome')}</Table.Th>}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((task) => (
              <Table.Tr key={task.id}>
                <Table.Td>{formatDateTime(task.dueAt)}</Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${task.customerId}`}>
                    {task.customerName ?? `#${task.customerId}`}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{task.title}</Text>
                  {task.prompt && (
                    <Text size="xs" c="dimmed">
                      {task.prompt}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{task.flowName}</Table.Td>
                {can('interactions:write') && (
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <TextInput
                        size="xs"
                        aria-label={t('flows.tasks.outcomeFor', { title: task.title })}
                        placeholder={t('flows.tasks.outcomeHelp')}
                        value={outcomes[task.id] ?? ''}
                        onChange={(e) => {
                          const value = e.currentTarget.value;
                          setOutcomes((o) => ({ ...o, [task.id]: value }));
                        }}
                      />
                      <Button
                        size="xs"
                        disabled={!outcomes[task.id]?.trim()}
                        onClick={() => void done(task.id)}
                      >
                        {t('flows.tasks.done')}
                      </Button>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </ListSection>
  );
}

function reasonLabel(t: TFunction, reason: string): string {
  const [code, detail] = reason.split(':');
  const label = t(`campaigns.reasons.${code}`, { defaultValue: code });
  return detail ? `${label} (${detail})` : label;
}

function FlowReportPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const report = useLoad(
    () => ok<FlowReport>(api.GET('/api/flows/{id}/report', { params: { path: { id } } })),
    [id],
  );
  if (report.loading && !report.data) return <Loader aria-label={t('loading')} />;
  if (!report.data) return <ErrorNotice error={report.error} />;
  const r = report.data;
  const interval = (x: { lower: number; upper: number } | null) =>
    x ? `${formatPercent(x.lower, 1)} – ${formatPercent(x.upper, 1)}` : '—';
  const groupRow = (label: string, key: string, g: GroupResult) => (
    <Table.Tr data-testid={`goal-${key}`}>
      <Table.Td>{label}</Table.Td>
      <Table.Td ta="right" data-testid={`goal-${key}-customers`}>
        {formatNumber(g.customers)}
      </Table.Td>
      <Table.Td ta="right" data-testid={`goal-${key}-converted`}>
        {formatNumber(g.converted)}
      </Table.Td>
      <Table.Td ta="right">
        {formatPercent(g.rate, 1)}{' '}
        <Text span size="xs">
          ({interval(g.interval)})
        </Text>
      </Table.Td>
    </Table.Tr>
  );
  return (
    <Stack>
      <Anchor component={Link} to="/flows">
        {t('flows.back')}
      </Anchor>
      <Group>
        <Title order={2}>{r.flow.name}</Title>
        <Badge variant="outline" color={r.flow.enabled ? 'teal.9' : 'gray.7'}>
          {r.flow.enabled ? t('flows.on') : t('flows.off')}
        </Badge>
      </Group>
      <Text size="sm">
        {t('flows.report.asOf', { at: formatDateTime(r.asOf), version: r.flow.currentVersion })}
      </Text>
      <Group gap="xl" data-testid="flow-totals">
        {(
          [
            ['entered', r.entered],
            ['heldOut', r.heldOut],
            ['goalReached', r.goalReached],
          ] as const
        ).map(([key, n]) => (
          <Stack key={key} gap={0}>
            <Text size="xs" c="dimmed">
              {t(`flows.report.${key}`)}
            </Text>
            <Text fw={700} size="xl" data-testid={`flow-${key}`}>
              {formatNumber(n)}
            </Text>
          </Stack>
        ))}
      </Group>
      <Card withBorder component="section" aria-labelledby="steps-title">
        <Title order={3} size="h4" id="steps-title" mb="xs">
          {t('flows.report.steps')}
        </Title>
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('flows.report.version')}</Table.Th>
              <Table.Th>{t('flows.report.step')}</Table.Th>
              <Table.Th ta="right">{t('flows.report.executed')}</Table.Th>
              <Table.Th ta="right">{t('flows.report.waiting')}</Table.Th>
              <Table.Th ta="right">{t('flows.report.sent')}</Table.Th>
              <Table.Th ta="right">{t('flows.report.suppressed')}</Table.Th>
              <Table.Th ta="right">{t('flows.report.failed')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {r.steps.map((s) => {
              const key = `step-${s.version}-${s.index}`;
              return (
                <Table.Tr key={key} data-testid={key}>
                  <Table.Td>{s.version}</Table.Td>
                  <Table.Td>
                    {s.index + 1}. {t(`flows.stepKinds.${s.kind}`, { defaultValue: s.kind })}
                    {s.label ? ` — ${s.label}` : ''}
                  </Table.Td>
                  <Table.Td ta="right" data-testid={`${key}-executed`}>
                    {formatNumber(s.executed)}
                  </Table.Td>
                  <Table.Td ta="right" data-testid={`${key}-waiting`}>
                    {formatNumber(s.waiting)}
                  </Table.Td>
                  <Table.Td ta="right" data-testid={`${key}-sent`}>
                    {formatNumber(s.sent)}
                  </Table.Td>
                  <Table.Td ta="right">
                    <span data-testid={`${key}-suppressed`}>{formatNumber(s.suppressed)}</span>
                    {Object.entries(s.suppressedReasons).map(([reason, n]) => (
                      <Text key={reason} size="xs" data-testid={`${key}-reason`}>
                        {reasonLabel(t, reason)}: {formatNumber(n)}
                      </Text>
                    ))}
                  </Table.Td>
                  <Table.Td ta="right" data-testid={`${key}-failed`}>
                    {formatNumber(s.failed)}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Card>
      {r.goal ? (
        <Card withBorder component="section" aria-labelledby="goal-title" data-testid="flow-goal">
          <Title order={3} size="h4" id="goal-title" mb="xs">
            {t('flows.report.goal', {
              kind: t(`flows.goalKinds.${r.goal.kind}`, { defaultValue: r.goal.kind }),
              days: r.goal.windowDays,
            })}
          </Title>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th />
                <Table.Th ta="right">{t('flows.report.customers')}</Table.Th>
                <Table.Th ta="right">{t('flows.report.converted')}</Table.Th>
                <Table.Th ta="right">{t('flows.report.conversion')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {groupRow(t('flows.report.inFlow'), 'treated', r.goal.treated)}
              {groupRow(t('campaigns.holdoutArm'), 'holdout', r.goal.holdout)}
            </Table.Tbody>
          </Table>
          <Text size="sm" mt="xs" data-testid="flow-lift">
            {r.goal.difference
              ? t('flows.report.difference', {
                  difference: formatPercent(r.goal.difference.value, 1),
                  interval: interval(r.goal.difference),
                  lift: r.goal.relativeLift === null ? '—' : formatPercent(r.goal.relativeLift),
                  p: r.goal.pValue === null ? '—' : r.goal.pValue.toFixed(3),
                })
              : t('flows.report.noHoldout')}
          </Text>
        </Card>
      ) : (
        <Text size="sm">{t('flows.report.noGoal')}</Text>
      )}
    </Stack>
  );
}
