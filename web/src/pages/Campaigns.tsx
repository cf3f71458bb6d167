import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  NumberInput,
  Select,
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
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { api, ok } from '../api/client';
import type {
  Campaign,
  CampaignAssignment,
  CampaignPreview,
  CampaignReport,
  CampaignSummary,
  SavedSegment,
} from '../api/types';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatDateTime, formatMoney, formatNumber, formatPercent } from '../format';

const CHANNELS = ['email', 'letter', 'phone', 'newsletter'] as const;

export function CampaignsPage() {
  return (
    <Routes>
      <Route index element={<CampaignList />} />
      <Route path="new" element={<NewCampaign />} />
      <Route path=":id" element={<CampaignDetail />} />
    </Routes>
  );
}

function CampaignList() {
  const { t } = useTranslation();
  const list = useLoad(() => ok<{ campaigns: CampaignSummary[] }>(api.GET('/api/campaigns')), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('nav.campaigns')}</Title>
        <Button component={Link} to="/campaigns/new">
          {t('campaigns.new')}
        </Button>
      </Group>
      <ErrorNotice error={list.error} />
      {list.loading && <Loader aria-label={t('loading')} />}
      {list.data && list.data.campaigns.length === 0 && <Text>{t('campaigns.none')}</Text>}
      {list.data && list.data.campaigns.length > 0 && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('campaigns.name')}</Table.Th>
              <Table.Th>{t('campaigns.channel')}</Table.Th>
              <Table.Th>{t('campaigns.status')}</Table.Th>
              <Table.Th>{t('campaigns.created')}</Table.Th>
              <Table.Th>{t('campaigns.sent')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.campaigns.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/campaigns/${c.id}`}>
                    {c.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{t(`campaigns.channels.${c.channel}`, { defaultValue: c.channel })}</Table.Td>
                <Table.Td>
                  <Badge variant="outline">{c.status}</Badge>
                </Table.Td>
                <Table.Td>{formatDateTime(c.createdAt)}</Table.Td>
                <Table.Td>{formatDateTime(c.sentAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

type VariantDraft = { code: string; subject: string; bodyText: string; offer: string };

function NewCampaign() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const segments = useLoad(() => ok<{ segments: SavedSegment[] }>(api.GET('/api/segments')), []);
  const [name, setName] = useState('');
  const [channel, setChannel] = useState<string>('email');
  const [segment, setSegment] = useState<string | null>(null);
  const [holdout, setHoldout] = useState<number>(10);
  const [variants, setVariants] = useState<VariantDraft[]>([
    { code: 'A', subject: '{{ customer.name }}様', bodyText: '', offer: '' },
  ]);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const setVariant = (index: number, change: Partial<VariantDraft>) =>
    setVariants((list) => list.map((v, i) => (i === index ? { ...v, ...change } : v)));

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = {
        name: name.trim(),
        channel,
        audience: { segment: Number(segment) },
        holdoutShare: holdout / 100,
        variants: variants.map((v) => ({
          code: v.code,
          ...(v.subject ? { subject: v.subject } : {}),
          ...(v.bodyText ? { bodyText: v.bodyText } : {}),
          ...(v.offer ? { offer: v.offer } : {}),
        })),
      };
      const campaign = await ok<Campaign>(api.POST('/api/campaigns', { body: body as never }));
      navigate(`/campaigns/${campaign.id}`);
    } catch (failure) {
      setError(failure as Error);
      setBusy(false);
    }
  }

  return (
    <form onSubmit={create} aria-labelledby="new-campaign-title">
      <Stack>
        <Title order={2} id="new-campaign-title">
          {t('campaigns.new')}
        </Title>
        <ErrorNotice error={error} />
        <Group align="flex-end">
          <TextInput
            label={t('campaigns.name')}
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <Select
            label={t('campaigns.channel')}
            data={CHANNELS.map((c) => ({ value: c, label: t(`campaigns.channels.${c}`) }))}
            value={channel}
            onChange={(v) => v && setChannel(v)}
            allowDeselect={false}
          />
          <Select
            label={t('campaigns.segment')}
            description={t('campaigns.segmentHelp')}
            data={(segments.data?.segments ?? []).map((s) => ({ value: String(s.id), label: s.name }))}
            value={segment}
            onChange={setSegment}
            required
          />
          <NumberInput
            label={t('campaigns.holdout')}
            suffix=" %"
            min={0}
            max={90}
            value={holdout}
            onChange={(v) => setHoldout(typeof v === 'number' ? v : 0)}
            w={140}
          />
        </Group>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          {variants.map((v, i) => (
            <Card
              key={v.code}
              withBorder
              component="fieldset"
              aria-label={t('campaigns.variant', { code: v.code })}
            >
              <Text fw={600} mb="xs">
                {t('campaigns.variant', { code: v.code })}
              </Text>
              <TextInput
                label={t('campaigns.subject')}
                value={v.subject}
                onChange={(e) => setVariant(i, { subject: e.currentTarget.value })}
              />
              <Textarea
                label={t('campaigns.body')}
                description={t('campaigns.bodyHelp', { interpolation: { prefix: '[[', suffix: ']]' } })}
                autosize
                minRows={3}
                value={v.bodyText}
                onChange={(e) => setVariant(i, { bodyText: e.currentTarget.value })}
              />
              <TextInput
                label={t('campaigns.offer')}
                value={v.offer}
                onChange={(e) => setVariant(i, { offer: e.currentTarget.value })}
              />
            </Card>
          ))}
        </SimpleGrid>
        <Group>
          <Button
            variant="default"
            disabled={variants.length >= 26}
            onClick={() =>
              setVariants((list) => [
                ...list,
                { code: String.fromCharCode(65 + list.length), subject: '', bodyText: '', offer: '' },
              ])
            }
          >
            {t('campaigns.addVariant')}
          </Button>
          <Button type="submit" loading={busy} disabled={!name.trim() || !segment}>
            {t('campaigns.create')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CampaignDetail() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { id = '' } = useParams();
  const path = { params: { path: { id } } };
  const campaign = useLoad(() => ok<Campaign>(api.GET('/api/campaigns/{id}', path)), [id]);
  const [assignment, setAssignment] = useState<CampaignAssignment | null>(null);
  const [preview, setPreview] = useState<CampaignPreview | null>(null);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState<string | null>(null);
  const [reportRound, setReportRound] = useState(0);

  async function step(name: string, action: () => Promise<void>) {
    setBusy(name);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(null);
    }
  }

  if (campaign.loading && !campaign.data) return <Loader aria-label={t('loading')} />;
  if (!campaign.data) return <ErrorNotice error={campaign.error} />;
  const c = campaign.data;
  const draft = c.status === 'draft' || c.status === 'assigned';
  return (
    <Stack>
      <Anchor component={Link} to="/campaigns">
        {t('campaigns.back')}
      </Anchor>
      <Group>
        <Title order={2}>{c.name}</Title>
        <Badge variant="outline" data-testid="campaign-status">
          {c.status}
        </Badge>
      </Group>
      <Text size="sm">
        {t(`campaigns.channels.${c.channel}`, { defaultValue: c.channel })} ·{' '}
        {t('campaigns.holdoutShare', { share: formatPercent(c.holdoutShare) })} ·{' '}
        {t('campaigns.costPerTouch', { cost: formatMoney(c.costPerTouch) })}
      </Text>
      <ErrorNotice error={error} />
      {draft && can('campaigns:write') && (
        <Group>
          <Button
            variant="default"
            loading={busy === 'assign'}
            onClick={() =>
              void step('assign', async () => {
                setAssignment(
                  await ok<CampaignAssignment>(
                    api.POST('/api/campaigns/{id}/assign', { ...path, body: {} as never }),
                  ),
                );
              })
            }
          >
            {t('campaigns.assign')}
          </Button>
          <Button
            variant="default"
            loading={busy === 'preview'}
            onClick={() =>
              void step('preview', async () => {
                setPreview(
                  await ok<CampaignPreview>(
                    api.POST('/api/campaigns/{id}/preview', { ...path, body: { limit: 20 } as never }),
                  ),
                );
              })
            }
          >
            {t('campaigns.preview')}
          </Button>
          {can('campaigns:send') && (
            <Button
              loading={busy === 'send'}
              onClick={() =>
                void step('send', async () => {
                  await ok(api.POST('/api/campaigns/{id}/send', { ...path, body: { wait: true } as never }));
                  campaign.reload();
                  setReportRound((r) => r + 1);
                })
              }
            >
              {t('campaigns.send')}
            </Button>
          )}
        </Group>
      )}
      {assignment && (
        <Alert color="blue" role="status">
          {t('campaigns.assigned', {
            members: formatNumber(assignment.members),
            holdout: formatNumber(assignment.holdout),
            variants: Object.entries(assignment.byVariant)
              .map(([code, n]) => `${code} ${formatNumber(n)}`)
              .join(', '),
          })}
        </Alert>
      )}
      {preview && <PreviewCard preview={preview} />}
      {!draft && <Report id={id} round={reportRound} />}
    </Stack>
  );
}

function PreviewCard({ preview }: { preview: CampaignPreview }) {
  const { t } = useTranslation();
  return (
    <Card withBorder component="section" aria-labelledby="preview-title" data-testid="campaign-preview">
      <Title order={3} size="h4" id="preview-title">
        {t('campaigns.previewTitle')}
      </Title>
      <Text size="sm">
        {t('campaigns.reach', {
          recipients: formatNumber(preview.recipients),
          holdout: formatNumber(preview.holdout),
          reach: Object.entries(preview.reach)
            .map(
              ([channel, n]) =>
                `${t(`campaigns.channels.${channel}`, { defaultValue: channel })} ${formatNumber(n)}`,
            )
            .join(', '),
          cost: formatMoney(preview.totalCost),
        })}
      </Text>
      {preview.overBudget && <Alert color="red">{t('campaigns.overBudget')}</Alert>}
      <Title order={4} size="h5" mt="sm">
        {t('campaigns.excluded')}
      </Title>
      <Table>
        <Table.Tbody>
          {Object.entries(preview.excluded).map(([reason, n]) => (
            <Table.Tr key={reason}>
              <Table.Td>
                {t(`campaigns.reasons.${reason.split(':')[0]}`, { defaultValue: reason })}
                {reason.includes(':') ? ` (${reason.split(':')[1]})` : ''}
              </Table.Td>
              <Table.Td ta="right">{formatNumber(n)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {preview.excludedCustomers.length > 0 && (
        <Text size="xs" mt="xs">
          {preview.excludedCustomers.map((x) => `${x.name} (${x.reasons.join(', ')})`).join(' · ')}
        </Text>
      )}
    </Card>
  );
}

function Report({ id, round }: { id: string; round: number }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const report = useLoad(
    () => ok<CampaignReport>(api.GET('/api/campaigns/{id}/report', { params: { path: { id } } })),
    [id, round],
  );
  if (!can('reports:read')) return null;
  if (report.loading && !report.data) return <Loader aria-label={t('loading')} />;
  if (!report.data) return <ErrorNotice error={report.error} />;
  const r = report.data;
  const interval = (x: { lower: number; upper: number }) =>
    `${formatPercent(x.lower, 1)} – ${formatPercent(x.upper, 1)}`;
  return (
    <Card withBorder component="section" aria-labelledby="report-title" data-testid="campaign-report">
      <Title order={3} size="h4" id="report-title" mb="xs">
        {t('campaigns.results')}
      </Title>
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('campaigns.arm')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.recipients')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.responders')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.responseRate')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.vsHoldout')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.lift')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.revenue')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.cost')}</Table.Th>
            <Table.Th ta="right">{t('campaigns.profit')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {r.arms.map((arm) => (
            <Table.Tr key={arm.variant ?? 'holdout'}>
              <Table.Td>{arm.variant ?? t('campaigns.holdoutArm')}</Table.Td>
              <Table.Td ta="right">{formatNumber(arm.recipients)}</Table.Td>
              <Table.Td ta="right">{formatNumber(arm.responders)}</Table.Td>
              <Table.Td ta="right">
                {formatPercent(arm.responseRate.rate, 1)}{' '}
                <Text span size="xs">
                  ({interval(arm.responseRate)})
                </Text>
              </Table.Td>
              <Table.Td ta="right">
                {arm.vsHoldout
                  ? `${formatPercent(arm.vsHoldout.difference, 1)} (${interval(arm.vsHoldout)})`
                  : '—'}
              </Table.Td>
              <Table.Td ta="right">
                {arm.vsHoldout?.relativeLift == null ? '—' : formatPercent(arm.vsHoldout.relativeLift)}
              </Table.Td>
              <Table.Td ta="right">{formatMoney(arm.revenue)}</Table.Td>
              <Table.Td ta="right">{formatMoney(arm.cost)}</Table.Td>
              <Table.Td ta="right">{formatMoney(arm.profitAfterCost)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {r.winner && (
        <Alert mt="sm" color={r.winner.variant ? 'teal' : 'gray'} title={t('campaigns.winner')}>
          {r.winner.variant ? t('campaigns.winnerIs', { variant: r.winner.variant }) : ''} {r.winner.reason}
        </Alert>
      )}
      {r.notes.map((note) => (
        <Text key={note} size="xs" c="dimmed" mt={4}>
          {note}
        </Text>
      ))}
    </Card>
  );
}
