import {
  Alert,
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
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, ok } from '../api/client';
import type { Customer360, PreferenceNote, TimelineEvent } from '../api/types';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatDate, formatDateTime, formatMoney, formatNumber, formatPercent } from '../format';

/** Everything about one customer on one page, with the preference notebook open for a new note. */
export function Customer360Page() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const view = useLoad(
    () => ok<Customer360>(api.GET('/api/customers/{id}/360', { params: { path: { id } } })),
    [id],
  );
  if (view.loading && !view.data) return <Loader aria-label={t('loading')} />;
  if (!view.data) return <ErrorNotice error={view.error} />;
  const { customer, measures, lifetime_value: clv, purchases } = view.data;
  return (
    <Stack>
      <Anchor component={Link} to="/customers">
        {t('customers.backToSearch')}
      </Anchor>
      <Group gap="sm">
        <Title order={2}>{customer.name}</Title>
        {customer.name_kana && <Text c="dimmed">{customer.name_kana}</Text>}
        {measures.tier && <Badge size="lg">{t(`tiers.${measures.tier}`)}</Badge>}
        {customer.do_not_contact && <Badge color="red">{t('customers.doNotContact')}</Badge>}
      </Group>
      <ErrorNotice error={view.error} />
      {view.data.follow_ups.length > 0 && (
        <Alert color="yellow" title={t('c360.followUps')}>
          <Stack gap={4}>
            {view.data.follow_ups.map((f) => (
              <Text key={f.interaction_id} size="sm">
                {f.prompt}
              </Text>
            ))}
          </Stack>
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder component="section" aria-labelledby="identity-title">
          <Title order={3} size="h4" id="identity-title" mb="xs">
            {t('c360.identity')}
          </Title>
          <Facts
            rows={[
              [
                t('c360.customerId'),
                `${customer.id}${customer.external_id ? ` · ${customer.external_id}` : ''}`,
              ],
              [t('customers.email'), customer.email],
              [t('customers.phone'), customer.phone],
              [t('c360.address'), [customer.postal_code, customer.address].filter(Boolean).join(' ')],
              [t('c360.birthDate'), formatDate(customer.birth_date)],
              [t('customers.homeStore'), customer.home_store?.name],
              [t('c360.accountOwner'), customer.account_owner?.name],
              [t('c360.source'), customer.acquisition_source],
              [t('c360.since'), formatDate(customer.created_at)],
            ]}
          />
          <Title order={4} size="h5" mt="sm" mb={4}>
            {t('c360.consents')}
          </Title>
          {customer.consents.length === 0 ? (
            <Text size="sm">{t('c360.noConsents')}</Text>
          ) : (
            <Group gap={4}>
              {customer.consents.map((c) => (
                <Badge key={c.channel} color={c.granted ? 'teal.9' : 'gray.7'} variant="outline">
                  {t(`channels.${c.channel}`, { defaultValue: c.channel })}:{' '}
                  {c.granted ? t('c360.granted') : t('c360.refused')}
                </Badge>
              ))}
            </Group>
          )}
        </Card>
        <Card withBorder component="section" aria-labelledby="measures-title">
          <Title order={3} size="h4" id="measures-title" mb="xs">
            {t('c360.measures')}
          </Title>
          {measures.computed ? (
            <Facts
              rows={[
                [t('measures.tier'), measures.tier ? t(`tiers.${measures.tier}`) : '—'],
                [
                  t('measures.rfmCell'),
                  `${measures.rfm_cell ?? '—'} (${measures.rfm_group ? t(`rfm.${measures.rfm_group}`) : '—'})`,
                ],
                [t('measures.orders'), formatNumber(purchases.orders_count)],
                [t('measures.spend'), formatMoney(purchases.total_spend)],
                [t('measures.aov'), formatMoney(measures.average_order_value)],
                [t('measures.lastPurchase'), formatDate(purchases.last_purchase_at)],
                [t('measures.firstPurchase'), formatDate(purchases.first_purchase_at)],
                [t('measures.asOf'), formatDate(measures.as_of)],
              ]}
            />
          ) : (
            <Text size="sm">{t('c360.noMeasures')}</Text>
          )}
          {purchases.favourite_categories.length > 0 && (
            <Text size="sm" mt="xs">
              {t('c360.favourites')}:{' '}
              {purchases.favourite_categories
                .map((c) => `${c.category} ${formatPercent(c.share)}`)
                .join(' · ')}
            </Text>
          )}
        </Card>
        <Card withBorder component="section" aria-labelledby="clv-title">
          <Title order={3} size="h4" id="clv-title" mb="xs">
            {t('c360.clv')}
          </Title>
          {clv ? (
            <Facts
              rows={[
                [t('measures.clv'), formatMoney(clv.clv)],
                [t('c360.expectedPurchases'), formatNumber(clv.expected_purchases_next_year, 1)],
                [t('c360.probabilityAlive'), formatPercent(clv.probability_alive)],
                [t('c360.expectedSpend'), formatMoney(clv.expected_spend)],
              ]}
            />
          ) : (
            <Text size="sm">{t('c360.noClv')}</Text>
          )}
          <Title order={4} size="h5" mt="sm" mb={4}>
            {t('c360.openIssues')}
          </Title>
          {view.data.open_interactions.length === 0 ? (
            <Text size="sm">{t('c360.noOpenIssues')}</Text>
          ) : (
            <Stack gap={4}>
              {view.data.open_interactions.map((i) => (
                <Text key={i.id} size="sm">
                  <Badge size="xs" mr={4} color={i.interaction_kind === 'complaint' ? 'red' : 'blue'}>
                    {t(`interactionKinds.${i.interaction_kind}`, { defaultValue: i.interaction_kind })}
                  </Badge>
                  {i.subject ?? '—'} ({i.status}, {formatDate(i.opened_at)})
                </Text>
              ))}
            </Stack>
          )}
        </Card>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Notebook customerId={id} notes={view.data.preference_notes} onChange={view.reload} />
        <Timeline events={view.data.timeline.events} />
      </SimpleGrid>
    </Stack>
  );
}

function Facts({ rows }: { rows: [string, string | null | undefined][] }) {
  return (
    <Table withRowBorders={false} verticalSpacing={2}>
      <Table.Tbody>
        {rows.map(([label, value]) => (
          <Table.Tr key={label}>
            <Table.Th w="45%" fw={500} c="dimmed" fz="sm" scope="row">
              {label}
            </Table.Th>
            <Table.Td fz="sm">{value || '—'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Notebook({
  customerId,
  notes,
  onChange,
}: {
  customerId: string;
  notes: PreferenceNote[];
  onChange: () => void;
}) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const [note, setNote] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const writer = can('notes:write');

  async function add(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body = key.trim()
      ? { key: key.trim(), value: value.trim(), ...(note.trim() ? { note: note.trim() } : {}) }
      : { note: note.trim() };
    try {
      await ok(
        api.POST('/api/customers/{id}/preferences', {
          params: { path: { id: customerId } },
          body: body as never,
        }),
      );
      setNote('');
      setKey('');
      setValue('');
      onChange();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  async function obsolete(noteId: number) {
    setError(undefined);
    try {
      await ok(
        api.POST('/api/customers/{id}/preferences/{noteId}/obsolete', {
          params: { path: { id: customerId, noteId: String(noteId) } },
          body: {},
        }),
      );
      onChange();
    } catch (failure) {
      setError(failure as Error);
    }
  }

  return (
    <Card withBorder component="section" aria-labelledby="notebook-title">
      <Title order={3} size="h4" id="notebook-title" mb="xs">
        {t('c360.notebook')}
      </Title>
      {writer && (
        <form onSubmit={add} aria-label={t('c360.addNote')}>
          <Stack gap="xs" mb="sm">
            <Textarea
              label={t('c360.note')}
              placeholder={t('c360.notePlaceholder')}
              value={note}
              onChange={(e) => setNote(e.currentTarget.value)}
              autosize
              minRows={2}
            />
            <Group grow>
              <TextInput label={t('c360.key')} value={key} onChange={(e) => setKey(e.currentTarget.value)} />
              <TextInput
                label={t('c360.value')}
                value={value}
                onChange={(e) => setValue(e.currentTarget.value)}
              />
            </Group>
            <Group>
              <Button type="submit" loading={busy} disabled={!note.trim() && !key.trim()}>
                {t('c360.addNote')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
      <ErrorNotice error={error} />
      {notes.length === 0 ? (
        <Text size="sm">{t('c360.noNotes')}</Text>
      ) : (
        <Stack
          gap="xs"
          component="ul"
          style={{ listStyle: 'none', padding: 0, margin: 0 }}
          data-testid="notes"
        >
          {notes.map((n) => (
            <li key={n.id}>
              <Group justify="space-between" wrap="nowrap" align="flex-start">
                <div>
                  <Text size="sm" td={n.obsolete ? 'line-through' : undefined}>
                    {n.key ? <strong>{`${n.key}: ${n.value ?? ''} `}</strong> : null}
                    {n.note}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {[
                      n.author?.name ?? t(`noteSources.${n.source}`, { defaultValue: n.source }),
                      n.store?.name,
                      formatDate(n.noted_at),
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </Text>
                </div>
                {writer && !n.obsolete && (
                  <Button size="compact-xs" variant="subtle" onClick={() => void obsolete(n.id)}>
                    {t('c360.markObsolete')}
                  </Button>
                )}
              </Group>
            </li>
          ))}
        </Stack>
      )}
    </Card>
  );
}

function eventText(
  event: TimelineEvent,
  t: (key: string, options?: Record<string, unknown>) => string,
): string {
  const e = event as Record<string, unknown>;
  switch (event.kind) {
    case 'order':
      return `${t('timeline.order')} ${formatMoney(e.total as string, (e.currency as string) ?? 'JPY')} — ${((e.lines as { product_name: string }[]) ?? []).map((l) => l.product_name).join(', ')}`;
    case 'return':
      return `${t('timeline.return')} ${formatMoney(e.amount as string)}`;
    case 'touch':
      return `${t('timeline.touch')} (${String(e.channel)}) ${String(e.subject ?? '')}`;
    case 'interaction':
      return `${t(`interactionKinds.${String(e.interaction_kind)}`, { defaultValue: String(e.interaction_kind) })}: ${String(e.subject ?? '')} (${String(e.status)})`;
    case 'preference':
      return `${t('timeline.preference')}: ${e.key ? `${String(e.key)}=${String(e.value ?? '')} ` : ''}${String(e.note ?? '')}`;
    default:
      return event.kind;
  }
}

function Timeline({ events }: { events: TimelineEvent[] }) {
  const { t } = useTranslation();
  return (
    <Card withBorder component="section" aria-labelledby="timeline-title">
      <Title order={3} size="h4" id="timeline-title" mb="xs">
        {t('c360.timeline')}
      </Title>
      {events.length === 0 ? (
        <Text size="sm">{t('c360.noEvents')}</Text>
      ) : (
        <Stack gap={6} component="ol" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {events.map((event) => (
            <li key={`${event.kind}-${event.id}`}>
              <Text size="xs" c="dimmed">
                {formatDateTime(event.at)}
              </Text>
              <Text size="sm">{eventText(event, t)}</Text>
            </li>
          ))}
        </Stack>
      )}
    </Card>
  );
}
