import { Anchor, Badge, Button, Group, Loader, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, ok } from '../api/client';
import type { CustomerSearch, CustomerSummary, RuleNode, SegmentPreview } from '../api/types';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatDate, formatMoney, formatNumber } from '../format';

/**
 * Customers: a search (name, kana, e-mail, phone, id, tag), or — reached from a dashboard chart — the
 * members of a tier or a segment template with their measures (?tier=loyal, ?template=lapsed-regulars).
 */
export function CustomersPage() {
  const [params] = useSearchParams();
  const tier = params.get('tier');
  const template = params.get('template');
  if (tier || template) return <MembersList tier={tier} template={template} />;
  return <CustomerSearchPage />;
}

function CustomerSearchPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const [text, setText] = useState(q);
  const [tagText, setTagText] = useState(tag);
  const [pages, setPages] = useState<CustomerSummary[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);

  const first = useLoad(async () => {
    const query: Record<string, string> = { limit: '25' };
    if (q) query.q = q;
    if (tag) query.tag = tag;
    const answer = await ok<CustomerSearch>(api.GET('/api/customers', { params: { query } }));
    setPages([answer.customers]);
    setCursor(answer.nextCursor);
    return answer;
  }, [q, tag]);

  async function more() {
    if (!cursor) return;
    const query: Record<string, string> = { limit: '25', cursor };
    if (q) query.q = q;
    if (tag) query.tag = tag;
    const answer = await ok<CustomerSearch>(api.GET('/api/customers', { params: { query } }));
    setPages((p) => [...p, answer.customers]);
    setCursor(answer.nextCursor);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    if (text.trim()) next.set('q', text.trim());
    if (tagText.trim()) next.set('tag', tagText.trim());
    setParams(next);
  }

  const customers = pages.flat();
  return (
    <Stack>
      <Title order={2}>{t('customers.title')}</Title>
      <search aria-label={t('customers.searchLabel')}>
        <form onSubmit={submit}>
          <Group align="flex-end">
            <TextInput
              label={t('customers.query')}
              description={t('customers.queryHelp')}
              name="q"
              type="search"
              value={text}
              onChange={(e) => setText(e.currentTarget.value)}
              w={360}
            />
            <TextInput
              label={t('customers.tag')}
              name="tag"
              value={tagText}
              onChange={(e) => setTagText(e.currentTarget.value)}
              w={160}
            />
            <Button type="submit">{t('customers.search')}</Button>
          </Group>
        </form>
      </search>
      <ErrorNotice error={first.error} />
      {first.loading ? (
        <Loader aria-label={t('loading')} />
      ) : (
        <>
          <Text size="sm" c="dimmed" role="status">
            {customers.length === 0 ? t('customers.none') : t('customers.shown', { count: customers.length })}
          </Text>
          {customers.length > 0 && (
            <Table striped highlightOnHover stickyHeader>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('customers.name')}</Table.Th>
                  <Table.Th>{t('customers.kana')}</Table.Th>
                  <Table.Th>{t('customers.email')}</Table.Th>
                  <Table.Th>{t('customers.phone')}</Table.Th>
                  <Table.Th>{t('customers.homeStore')}</Table.Th>
                  <Table.Th>{t('customers.tags')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {customers.map((c) => (
                  <Table.Tr key={c.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/customers/${c.id}`}>
                        {c.name}
                      </Anchor>
                      {c.do_not_contact && (
                        <Badge ml="xs" color="red" variant="light" size="xs">
                          {t('customers.doNotContact')}
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>{c.name_kana ?? '—'}</Table.Td>
                    <Table.Td>{c.email ?? '—'}</Table.Td>
                    <Table.Td>{c.phone ?? '—'}</Table.Td>
                    <Table.Td>{c.home_store?.name ?? '—'}</Table.Td>
                    <Table.Td>
                      {c.tags.map((tagName) => (
                        <Badge key={tagName} variant="outline" size="xs" mr={4}>
                          {tagName}
                        </Badge>
                      ))}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          {cursor && (
            <Button variant="default" onClick={() => void more()} w={200}>
              {t('more')}
            </Button>
          )}
        </>
      )}
    </Stack>
  );
}

function MembersList({ tier, template }: { tier: string | null; template: string | null }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const definition: { rules?: RuleNode; template?: string } = tier
    ? { rules: { kind: 'tier', tiers: [tier] } }
    : { template: template ?? undefined };
  const members = useLoad(
    () =>
      ok<SegmentPreview>(api.POST('/api/segments/preview', { body: { ...definition, limit: 100 } as never })),
    [tier, template],
  );
  const title = tier
    ? t('customers.tierTitle', { tier: t(`tiers.${tier}`) })
    : t('customers.templateTitle', { template });
  return (
    <Stack>
      <Title order={2}>{title}</Title>
      <Anchor component={Link} to="/customers">
        {t('customers.backToSearch')}
      </Anchor>
      {!can('segments:write') && <Text>{t('customers.membersNeedSegments')}</Text>}
      <ErrorNotice error={members.error} />
      {members.loading && <Loader aria-label={t('loading')} />}
      {members.data && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('customers.name')}</Table.Th>
              <Table.Th>{t('measures.tier')}</Table.Th>
              <Table.Th>{t('measures.rfmCell')}</Table.Th>
              <Table.Th ta="right">{t('measures.orders')}</Table.Th>
              <Table.Th ta="right">{t('measures.spend')}</Table.Th>
              <Table.Th>{t('measures.lastPurchase')}</Table.Th>
              <Table.Th ta="right">{t('measures.clv')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.data.customers.map((m) => (
              <Table.Tr key={m.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${m.id}`}>
                    {m.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{m.tier ? t(`tiers.${m.tier}`) : '—'}</Table.Td>
                <Table.Td>{m.rfm_cell ?? '—'}</Table.Td>
                <Table.Td ta="right">{formatNumber(m.orders_count)}</Table.Td>
                <Table.Td ta="right">{formatMoney(m.total_spend)}</Table.Td>
                <Table.Td>{formatDate(m.last_purchase_at)}</Table.Td>
                <Table.Td ta="right">{formatMoney(m.clv)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
