import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  Paper,
  SegmentedControl,
  Stack,
  Table,
  Tabs,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Route, Routes, useParams, useSearchParams } from 'react-router';
import { api, ok } from '../api/client';
import type { paths } from '../api/schema';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';
import { ListSection, useRowAction } from '../components/ListSection';
import { useLoad } from '../components/useLoad';
import { formatDateTime } from '../format';
import { FlowTasks } from './Flows';

// The ticket list's answer as GET /api/tickets documents it (src/api/ticket.routes.ts); the other answers
// of ticket.routes.ts and sla.routes.ts are not typed in the OpenAPI document yet, hence the types below.
type QueueTicket =
  paths['/api/tickets']['get']['responses'][200]['content']['application/json']['tickets'][number];
type Ticket = Omit<QueueTicket, 'customerName'>;
type SlaClock = {
  targetMinutes: number;
  dueAt: string | null;
  elapsedMinutes: number;
  remainingMinutes: number;
  state: 'running' | 'paused' | 'met' | 'breached' | 'near_breach';
  metAt: string | null;
  startedAt: string;
};
type SlaState = {
  policy: { id: number; name: string } | null;
  firstResponse: SlaClock | null;
  nextResponse: SlaClock | null;
  resolution: SlaClock | null;
  worst: 'ok' | 'near_breach' | 'breached' | 'none';
};
/** A ticket of a queue: GET /api/tickets and /api/tickets/breaching name its customer (null: erased or unnamed). */
type BreachingTicket = QueueTicket & { sla: SlaState; dueAt: string | null };
type TicketMessage = {
  id: number;
  kind: 'customer_message' | 'public_reply' | 'internal_note';
  authorName: string | null;
  fromAddress: string | null;
  subject: string | null;
  body: string | null;
  bodyRedacted: boolean;
  delivery: 'sent' | 'failed' | null;
  deliveryError: string | null;
  createdAt: string;
};
type TicketView = {
  ticket: Ticket;
  messages: TicketMessage[];
  followUps: FollowUp[];
  csat: { score: number; comment: string | null } | null;
  sla: SlaState;
};
type FollowUp = {
  id: number;
  customerId: number;
  customerName: string | null;
  ticketId: number;
  ticketSubject: string | null;
  ticketKind: string;
  dueAt: string;
  prompt: string;
  state: string;
};
type Escalation = {
  id: number;
  customerId: number;
  interactionId: number;
  clock: 'first_response' | 'next_response' | 'resolution';
  breachedAt: string;
  notifiedStaffName: string | null;
  acknowledgedAt: string | null;
  subject: string | null;
  kind: string;
  priority: string;
};

// Orange dark enough for small text on white and on striped rows (WCAG AA); Mantine's orange.9 is not.
const AMBER = '#a63c00';
const QUEUES = ['mine', 'unassigned', 'breaching', 'followUps', 'all', 'flowTasks'] as const;
type Queue = (typeof QUEUES)[number];
const CLOCKS = ['firstResponse', 'nextResponse', 'resolution'] as const;

export function DeskPage() {
  return (
    <Routes>
      <Route index element={<DeskQueues />} />
      <Route path=":ticketId" element={<TicketPage />} />
    </Routes>
  );
}

function SlaBadge({ state, dueAt }: { state: SlaState['worst'] | undefined; dueAt: string | null }) {
  const { t } = useTranslation();
  if (state === 'breached' || state === 'near_breach') {
    return (
      <Group gap={4} wrap="nowrap">
        <Badge variant="outline" color={state === 'breached' ? 'red.9' : AMBER} data-testid="sla-badge">
          {t(`desk.sla.${state}`)}
        </Badge>
        {dueAt && <Text size="xs">{t('desk.dueAt', { at: formatDateTime(dueAt) })}</Text>}
      </Group>
    );
  }
  return <Text size="xs">{t('desk.sla.onTime')}</Text>;
}

function DeskQueues() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const queue = (QUEUES as readonly string[]).includes(params.get('queue') ?? '')
    ? (params.get('queue') as Queue)
    : 'mine';
  return (
    <Stack>
      <Title order={2}>{t('nav.desk')}</Title>
      <Tabs value={queue} onChange={(value) => value && setParams({ queue: value })} keepMounted={false}>
        <Tabs.List>
          {QUEUES.map((q) => (
            <Tabs.Tab key={q} value={q}>
              {t(`desk.queues.${q}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {QUEUES.map((q) => (
          <Tabs.Panel key={q} value={q} pt="sm">
            {q === 'followUps' ? (
              <FollowUpList />
            ) : q === 'flowTasks' ? (
              <FlowTasks />
            ) : (
              <TicketQueue queue={q} />
            )}
          </Tabs.Panel>
        ))}
      </Tabs>
      {can('service:manage') && <Escalations />}
    </Stack>
  );
}

function TicketQueue({ queue }: { queue: Exclude<Queue, 'followUps' | 'flowTasks'> }) {
  const { t } = useTranslation();
  const [limit, setLimit] = useState(50);
  const list = useLoad(async () => {
    // Breaching soon: its own ordering (soonest due first). Other queues: the queue, with the SLA state
    // of those of its tickets that are near breach or breached.
    const breaching = await ok<{ tickets: BreachingTicket[] }>(
      api.GET('/api/tickets/breaching', {
        params: { query: { queue: queue === 'breaching' ? 'all' : queue } },
      }),
    );
    if (queue === 'breaching') return { tickets: breaching.tickets, hasMore: false, breaching };
    const page = await ok<{ tickets: QueueTicket[]; hasMore: boolean }>(
      api.GET('/api/tickets', { params: { query: { queue, limit: String(limit) } } }),
    );
    return { ...page, breaching };
  }, [queue, limit]);
  if (list.loading && !list.data) return <Loader aria-label={t('loading')} />;
  if (!list.data) return <ErrorNotice error={list.error} />;
  const sla = new Map(list.data.breaching.tickets.map((b) => [b.id, b]));
  if (list.data.tickets.length === 0) return <Text>{t('desk.noTickets')}</Text>;
  return (
    <Stack>
      <Table striped highlightOnHover data-testid={`queue-${queue}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('desk.customer')}</Table.Th>
            <Table.Th>{t('desk.subject')}</Table.Th>
            <Table.Th>{t('desk.kind')}</Table.Th>
            <Table.Th>{t('desk.priority')}</Table.Th>
            <Table.Th>{t('desk.status')}</Table.Th>
            <Table.Th>{t('desk.slaColumn')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.data.tickets.map((ticket) => {
            const state = sla.get(ticket.id);
            return (
              <Table.Tr key={ticket.id} data-testid="ticket-row">
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${ticket.customerId}`}>
                    {ticket.customerName ?? `#${ticket.customerId}`}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/desk/${ticket.id}`}>
                    {ticket.subject ?? t('desk.noSubject', { id: ticket.id })}
                  </Anchor>
                </Table.Td>
                <Table.Td>{t(`interactionKinds.${ticket.kind}`, { defaultValue: ticket.kind })}</Table.Td>
                <Table.Td>
                  <Badge
                    variant={ticket.priority === 'urgent' ? 'filled' : 'outline'}
                    color={priorityColor(ticket.priority)}
                  >
                    {t(`desk.priorities.${ticket.priority}`, { defaultValue: ticket.priority })}
                  </Badge>
                </Table.Td>
                <Table.Td>{t(`desk.statuses.${ticket.status}`, { defaultValue: ticket.status })}</Table.Td>
                <Table.Td>
                  <SlaBadge state={state?.sla.worst} dueAt={state?.dueAt ?? null} />
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {list.data.hasMore && (
        <Button
          variant="default"
          onClick={() => setLimit((n) => Math.min(n + 50, 200))}
          disabled={limit >= 200}
        >
          {t('more')}
        </Button>
      )}
    </Stack>
  );
}

const priorityColor = (priority: string) =>
  priority === 'urgent' ? 'red.9' : priority === 'high' ? AMBER : priority === 'low' ? 'gray.7' : 'blue.9';

function FollowUpList() {
  const { t } = useTranslation();
  const list = useLoad(() => ok<{ followUps: FollowUp[] }>(api.GET('/api/follow-ups')), []);
  if (list.loading && !list.data) return <Loader aria-label={t('loading')} />;
  if (!list.data) return <ErrorNotice error={list.error} />;
  if (list.data.followUps.length === 0) return <Text>{t('desk.noFollowUps')}</Text>;
  return (
    <Table striped data-testid="follow-ups">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('desk.customer')}</Table.Th>
          <Table.Th>{t('desk.subject')}</Table.Th>
          <Table.Th>{t('desk.due')}</Table.Th>
          <Table.Th>{t('desk.prompt')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.data.followUps.map((f) => (
          <Table.Tr key={f.id}>
            <Table.Td>
              <Anchor component={Link} to={`/customers/${f.customerId}`}>
                {f.customerName ?? `#${f.customerId}`}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <Anchor component={Link} to={`/desk/${f.ticketId}`}>
                {f.ticketSubject ?? t('desk.noSubject', { id: f.ticketId })}
              </Anchor>
            </Table.Td>
            <Table.Td>{formatDateTime(f.dueAt)}</Table.Td>
            <Table.Td>{f.prompt}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Escalations() {
  const { t } = useTranslation();
  const list = useLoad(() => ok<{ escalations: Escalation[] }>(api.GET('/api/sla/escalations')), []);
  const action = useRowAction(list.reload);
  const acknowledge = (id: number) =>
    action.run(() =>
      ok(api.POST('/api/sla/escalations/{id}/acknowledge', { params: { path: { id: String(id) } } })),
    );
  return (
    <ListSection
      id="escalations"
      title={t('desk.escalations')}
      list={list}
      items={list.data?.escalations}
      empty={t('desk.noEscalations')}
      error={action.error}
    >
      {(escalations) => (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('desk.subject')}</Table.Th>
              <Table.Th>{t('desk.clock')}</Table.Th>
              <Table.Th>{t('desk.breachedAt')}</Table.Th>
              <Table.Th>{t('desk.notified')}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {escalations.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/desk/${e.interactionId}`}>
                    {e.subject ?? t('desk.noSubject', { id: e.interactionId })}
                  </Anchor>
                </Table.Td>
                <Table.Td>{t(`desk.clocks.${e.clock}`)}</Table.Td>
                <Table.Td>{formatDateTime(e.breachedAt)}</Table.Td>
                <Table.Td>{e.notifiedStaffName ?? '—'}</Table.Td>
                <Table.Td>
                  <Button size="xs" variant="default" onClick={() => void acknowledge(e.id)}>
                    {t('desk.acknowledge')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </ListSection>
  );
}

const MESSAGE_STYLE: Record<TicketMessage['kind'], { bg: string; align: 'flex-start' | 'flex-end' }> = {
  customer_message: { bg: 'var(--mantine-color-gray-1)', align: 'flex-start' },
  public_reply: { bg: 'var(--mantine-color-blue-0)', align: 'flex-end' },
  internal_note: { bg: 'var(--mantine-color-yellow-1)', align: 'flex-end' },
};

function TicketPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { ticketId = '' } = useParams();
  const path = { params: { path: { ticketId } } };
  const view = useLoad(() => ok<TicketView>(api.GET('/api/tickets/{ticketId}', path)), [ticketId]);
  const [mode, setMode] = useState<'reply' | 'note'>('reply');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<Error>();
  const [csatUrl, setCsatUrl] = useState<string | null>(null);

  async function act(name: string, action: () => Promise<void>) {
    setBusy(name);
    setError(undefined);
    try {
      await action();
      view.reload();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(null);
    }
  }

  async function send(event: FormEvent) {
    event.preventDefault();
    const body = text.trim();
    if (!body) return;
    await act('send', async () => {
      if (mode === 'reply') {
        await ok(api.POST('/api/tickets/{ticketId}/replies', { ...path, body: { body } as never }));
      } else {
        await ok(api.POST('/api/tickets/{ticketId}/notes', { ...path, body: { body } as never }));
      }
      setText('');
    });
  }

  const move = (status: 'waiting' | 'resolved') =>
    act(status, async () => {
      const answer = await ok<{ csat: { url: string } | null }>(
        api.PATCH('/api/tickets/{ticketId}/status', { ...path, body: { status } as never }),
      );
      setCsatUrl(answer.csat?.url ?? null);
    });

  if (view.loading && !view.data) return <Loader aria-label={t('loading')} />;
  if (!view.data) return <ErrorNotice error={view.error} />;
  const { ticket, messages, sla } = view.data;
  const finished = ticket.status === 'resolved' || ticket.status === 'closed';
  return (
    <Stack>
      <Anchor component={Link} to="/desk">
        {t('desk.back')}
      </Anchor>
      <Group>
        <Title order={2}>{ticket.subject ?? t('desk.noSubject', { id: ticket.id })}</Title>
        <Badge variant="outline" data-testid="ticket-status">
          {t(`desk.statuses.${ticket.status}`, { defaultValue: ticket.status })}
        </Badge>
        <Badge color={priorityColor(ticket.priority)} variant="outline">
          {t(`desk.priorities.${ticket.priority}`, { defaultValue: ticket.priority })}
        </Badge>
      </Group>
      <Text size="sm">
        {t(`interactionKinds.${ticket.kind}`, { defaultValue: ticket.kind })} ·{' '}
        {t('desk.openedAt', { at: formatDateTime(ticket.openedAt) })} ·{' '}
        {t('desk.assignee', { name: ticket.assigneeName ?? t('desk.nobody') })} ·{' '}
        <Anchor component={Link} to={`/customers/${ticket.customerId}`} data-testid="customer-360-link">
          {t('desk.open360')}
        </Anchor>
      </Text>
      <SlaCard sla={sla} />
      <ErrorNotice error={error} />
      <Stack gap="xs" component="section" aria-label={t('desk.conversation')} data-testid="conversation">
        {messages.map((m) => (
          <Paper
            key={m.id}
            p="sm"
            withBorder
            maw="80%"
            bg={MESSAGE_STYLE[m.kind].bg}
            style={{
              alignSelf: MESSAGE_STYLE[m.kind].align,
              borderStyle: m.kind === 'internal_note' ? 'dashed' : undefined,
            }}
            data-testid={`message-${m.kind}`}
          >
            <Group gap="xs" mb={4}>
              <Badge size="xs" variant="outline" color={m.kind === 'internal_note' ? 'grape.9' : 'gray.7'}>
                {t(`desk.messageKinds.${m.kind}`)}
              </Badge>
              <Text size="xs" c="dimmed">
                {m.authorName ?? m.fromAddress ?? ''} · {formatDateTime(m.createdAt)}
                {m.delivery === 'failed' ? ` · ${t('desk.deliveryFailed')}` : ''}
              </Text>
            </Group>
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
              {m.bodyRedacted ? t('desk.redacted') : m.body}
            </Text>
          </Paper>
        ))}
        {messages.length === 0 && <Text size="sm">{t('desk.noMessages')}</Text>}
      </Stack>
      {csatUrl && (
        <Alert color="gray" role="status">
          <Text size="sm" fw={600}>
            {t('desk.csatTitle')}
          </Text>
          <Text size="sm" style={{ wordBreak: 'break-all' }}>
            {csatUrl}
          </Text>
        </Alert>
      )}
      {can('interactions:write') && (
        <form onSubmit={send} aria-label={t('desk.replyForm')}>
          <Stack gap="xs">
            <SegmentedControl
              value={mode}
              onChange={(v) => setMode(v as 'reply' | 'note')}
              data={[
                { value: 'reply', label: t('desk.publicReply') },
                { value: 'note', label: t('desk.internalNote') },
              ]}
              w="fit-content"
            />
            <Textarea
              label={mode === 'reply' ? t('desk.replyLabel') : t('desk.noteLabel')}
              autosize
              minRows={3}
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
            />
            <Group>
              <Button type="submit" loading={busy === 'send'} disabled={!text.trim()}>
                {mode === 'reply' ? t('desk.sendReply') : t('desk.addNote')}
              </Button>
              <Button
                variant="default"
                loading={busy === 'waiting'}
                disabled={ticket.status === 'waiting'}
                onClick={() => void move('waiting')}
              >
                {t('desk.markWaiting')}
              </Button>
              <Button
                color="teal"
                loading={busy === 'resolved'}
                disabled={finished}
                onClick={() => void move('resolved')}
              >
                {t('desk.markResolved')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Stack>
  );
}

function SlaCard({ sla }: { sla: SlaState }) {
  const { t } = useTranslation();
  if (!sla.policy) return <Text size="sm">{t('desk.noPolicy')}</Text>;
  return (
    <Card withBorder p="sm" data-testid="ticket-sla">
      <Text size="sm" fw={600}>
        {t('desk.policy', { name: sla.policy.name })}
      </Text>
      <Group gap="lg" mt={4}>
        {CLOCKS.map((name) => {
          const clock = sla[name];
          if (!clock) return null;
          const color =
            clock.state === 'breached'
              ? 'red.9'
              : clock.state === 'near_breach'
                ? AMBER
                : clock.state === 'met'
                  ? 'teal.9'
                  : 'gray.7';
          return (
            <Stack key={name} gap={0}>
              <Text size="xs" c="dimmed">
                {t(`desk.slaClocks.${name}`)}
              </Text>
              <Group gap={4}>
                <Badge size="sm" variant="outline" color={color}>
                  {t(`desk.clockStates.${clock.state}`)}
                </Badge>
                <Text size="xs">
                  {clock.metAt
                    ? t('desk.metAt', { at: formatDateTime(clock.metAt) })
                    : t('desk.dueAt', { at: formatDateTime(clock.dueAt) })}
                </Text>
              </Group>
            </Stack>
          );
        })}
      </Group>
    </Card>
  );
}
