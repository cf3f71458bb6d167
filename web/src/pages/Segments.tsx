import {
  ActionIcon,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Loader,
  MultiSelect,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, ok } from '../api/client';
import type {
  ConditionDescription,
  ConditionParameter,
  ConditionRegistry,
  ConditionValues,
  SavedSegment,
  SegmentPreview,
} from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatDate, formatMoney, formatNumber } from '../format';
import {
  newCondition,
  newGroup,
  parameterValue,
  toRules,
  type UiCondition,
  type UiGroup,
  type UiNode,
  updateNode,
} from './rule-tree';

const COUNT_DELAY_MS = 400;

/** The visual rule builder: and/or/not groups of the server's conditions, with a live count. */
export function SegmentsPage() {
  const { t } = useTranslation();
  const registry = useLoad(() => ok<ConditionRegistry>(api.GET('/api/segments/conditions')), []);
  const saved = useLoad(() => ok<{ segments: SavedSegment[] }>(api.GET('/api/segments')), []);
  const [root, setRoot] = useState<UiGroup>(() => newGroup('and'));
  const rules = useMemo(() => toRules(root), [root]);
  const [count, setCount] = useState<{ members: number } | null>(null);
  const [countError, setCountError] = useState<Error>();
  const [counting, setCounting] = useState(false);
  const [preview, setPreview] = useState<SegmentPreview | null>(null);
  const [actionError, setActionError] = useState<Error>();
  const [name, setName] = useState('');
  const [savedMessage, setSavedMessage] = useState('');

  // The live count: asked again 400 ms after the last change; an answer to an older tree is dropped.
  useEffect(() => {
    setPreview(null);
    if (!rules) {
      setCount(null);
      setCountError(undefined);
      return;
    }
    let live = true;
    setCounting(true);
    const timer = setTimeout(() => {
      ok<{ members: number }>(api.POST('/api/segments/count', { body: { rules } as never }))
        .then((answer) => {
          if (!live) return;
          setCount(answer);
          setCountError(undefined);
        })
        .catch((failure: Error) => {
          if (!live) return;
          setCount(null);
          setCountError(failure);
        })
        .finally(() => live && setCounting(false));
    }, COUNT_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [rules]);

  async function showPreview() {
    setActionError(undefined);
    try {
      setPreview(
        await ok<SegmentPreview>(api.POST('/api/segments/preview', { body: { rules, limit: 20 } as never })),
      );
    } catch (failure) {
      setActionError(failure as Error);
    }
  }

  async function save() {
    setActionError(undefined);
    setSavedMessage('');
    try {
      await ok(api.POST('/api/segments', { body: { name: name.trim(), rules } as never }));
      setSavedMessage(t('segments.saved', { name: name.trim() }));
      saved.reload();
    } catch (failure) {
      setActionError(failure as Error);
    }
  }

  async function exportCsv() {
    setActionError(undefined);
    try {
      const { response } = await api.POST('/api/segments/export', {
        body: { rules } as never,
        parseAs: 'blob',
      });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const url = URL.createObjectURL(await response.clone().blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `${name.trim() || 'segment'}.csv`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (failure) {
      setActionError(failure as Error);
    }
  }

  if (registry.loading) return <Loader aria-label={t('loading')} />;
  if (!registry.data) return <ErrorNotice error={registry.error} />;
  const { conditions, values } = registry.data;

  return (
    <Stack>
      <Title order={2}>{t('segments.title')}</Title>
      <Text size="sm" c="dimmed">
        {t('segments.intro')}
      </Text>
      <Card withBorder>
        <GroupEditor
          group={root}
          conditions={conditions}
          values={values}
          depth={0}
          onChange={(node) => setRoot(node as UiGroup)}
          onRemove={null}
        />
      </Card>
      <Card withBorder aria-live="polite">
        <Group>
          <Text fw={600}>{t('segments.count')}:</Text>
          <Text fw={700} size="xl" data-testid="live-count">
            {rules === null ? '—' : count ? formatNumber(count.members) : '…'}
          </Text>
          {counting && <Loader size="xs" aria-label={t('segments.counting')} />}
        </Group>
        {rules === null && <Text size="sm">{t('segments.empty')}</Text>}
        <ErrorNotice error={countError} />
      </Card>
      <Group align="flex-end">
        <Button variant="default" disabled={!rules} onClick={() => void showPreview()}>
          {t('segments.preview')}
        </Button>
        <Button variant="default" disabled={!rules} onClick={() => void exportCsv()}>
          {t('segments.export')}
        </Button>
        <TextInput label={t('segments.name')} value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <Button disabled={!rules || !name.trim()} onClick={() => void save()}>
          {t('segments.save')}
        </Button>
      </Group>
      {savedMessage && (
        <Text c="teal" role="status">
          {savedMessage}
        </Text>
      )}
      <ErrorNotice error={actionError} />
      {preview && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('customers.name')}</Table.Th>
              <Table.Th>{t('measures.tier')}</Table.Th>
              <Table.Th ta="right">{t('measures.orders')}</Table.Th>
              <Table.Th ta="right">{t('measures.spend')}</Table.Th>
              <Table.Th>{t('measures.lastPurchase')}</Table.Th>
              <Table.Th ta="right">{t('measures.clv')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {preview.customers.map((m) => (
              <Table.Tr key={m.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${m.id}`}>
                    {m.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{m.tier ? t(`tiers.${m.tier}`) : '—'}</Table.Td>
                <Table.Td ta="right">{formatNumber(m.orders_count)}</Table.Td>
                <Table.Td ta="right">{formatMoney(m.total_spend)}</Table.Td>
                <Table.Td>{formatDate(m.last_purchase_at)}</Table.Td>
                <Table.Td ta="right">{formatMoney(m.clv)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Title order={3} size="h4">
        {t('segments.savedTitle')}
      </Title>
      {saved.data && saved.data.segments.length === 0 && <Text size="sm">{t('segments.noneSaved')}</Text>}
      {saved.data?.segments.map((s) => (
        <Text key={s.id} size="sm">
          <strong>{s.name}</strong> {s.description ?? ''}
        </Text>
      ))}
    </Stack>
  );
}

type EditorProps<N extends UiNode> = {
  conditions: ConditionDescription[];
  values: ConditionValues;
  depth: number;
  onChange: (node: UiNode) => void;
  onRemove: (() => void) | null;
} & { [K in N['type']]: N };

function GroupEditor({
  group,
  conditions,
  values,
  depth,
  onChange,
  onRemove,
}: Omit<EditorProps<UiGroup>, 'group'> & { group: UiGroup }) {
  const { t } = useTranslation();
  const [kind, setKind] = useState<string | null>(null);
  const label = depth === 0 ? t('segments.rootGroup') : t('segments.group');
  return (
    <Stack
      gap="xs"
      role="group"
      aria-label={label}
      pl={depth ? 'md' : 0}
      style={depth ? { borderLeft: '3px solid var(--mantine-color-indigo-3)' } : undefined}
    >
      <Group gap="xs">
        <SegmentedControl
          size="xs"
          aria-label={t('segments.combine')}
          value={group.op}
          onChange={(op) => onChange({ ...group, op: op as 'and' | 'or' })}
          data={[
            { value: 'and', label: t('segments.and') },
            { value: 'or', label: t('segments.or') },
          ]}
        />
        <Checkbox
          size="xs"
          label={t('segments.notGroup')}
          checked={group.negate}
          onChange={(e) => onChange({ ...group, negate: e.currentTarget.checked })}
        />
        {onRemove && (
          <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove}>
            {t('segments.removeGroup')}
          </Button>
        )}
      </Group>
      {group.children.map((child) => {
        const replace = (node: UiNode | null) => onChange(updateNode(group, child.id, node));
        return child.type === 'group' ? (
          <GroupEditor
            key={child.id}
            group={child}
            conditions={conditions}
            values={values}
            depth={depth + 1}
            onChange={replace}
            onRemove={() => replace(null)}
          />
        ) : (
          <ConditionEditor
            key={child.id}
            condition={child}
            conditions={conditions}
            values={values}
            onChange={replace}
            onRemove={() => replace(null)}
          />
        );
      })}
      <Group gap="xs" align="flex-end">
        <Select
          size="xs"
          label={t('segments.addCondition')}
          placeholder={t('segments.chooseCondition')}
          data={conditions.map((c) => ({
            value: c.kind,
            label: t(`conditions.${c.kind}`, { defaultValue: c.label }),
          }))}
          value={kind}
          onChange={(value) => {
            if (!value) return;
            onChange({ ...group, children: [...group.children, newCondition(value)] });
            setKind(null);
          }}
          searchable
        />
        <Button
          size="xs"
          variant="default"
          onClick={() =>
            onChange({ ...group, children: [...group.children, newGroup(group.op === 'and' ? 'or' : 'and')] })
          }
        >
          {t('segments.addGroup')}
        </Button>
      </Group>
    </Stack>
  );
}

function options(parameter: ConditionParameter, values: ConditionValues, t: (key: string) => string) {
  if (parameter.enum) {
    return parameter.enum.map((v) => ({
      value: String(v),
      label: parameter.name === 'tiers' ? t(`tiers.${v}`) : String(v),
    }));
  }
  switch (parameter.values) {
    case 'categories':
      return values.categories.map((c) => ({ value: c, label: c }));
    case 'stores':
      return values.stores.map((s) => ({ value: String(s.id), label: s.name }));
    case 'acquisitionSources':
      return values.acquisitionSources.map((s) => ({ value: s, label: s }));
    case 'tags':
      return values.tags.map((s) => ({ value: s.tag, label: `${s.tag} (${s.customers})` }));
    default:
      return null;
  }
}

function ConditionEditor({
  condition,
  conditions,
  values,
  onChange,
  onRemove,
}: {
  condition: UiCondition;
  conditions: ConditionDescription[];
  values: ConditionValues;
  onChange: (node: UiNode) => void;
  onRemove: () => void;
}) {
  const { t } = useTranslation();
  const description = conditions.find((c) => c.kind === condition.kind);
  if (!description) return null;
  const set = (name: string, raw: unknown) =>
    onChange({
      ...condition,
      params: { ...condition.params, [name]: parameterValue(description, name, raw) },
    });
  const title = t(`conditions.${condition.kind}`, { defaultValue: description.label });
  return (
    <Card withBorder padding="xs" role="group" aria-label={title} data-testid={`condition-${condition.kind}`}>
      <Group gap="xs" mb={4}>
        <Badge variant="light">{title}</Badge>
        <Text size="xs" c="dimmed">
          {description.description}
        </Text>
      </Group>
      <Group gap="xs" align="flex-end">
        <Checkbox
          size="xs"
          label={t('segments.not')}
          checked={condition.negate}
          onChange={(e) => onChange({ ...condition, negate: e.currentTarget.checked })}
        />
        {description.parameters.map((p) => {
          const current = condition.params[p.name];
          const label = `${p.name}${p.required ? ' *' : ''}`;
          const list = options(p, values, t);
          if (p.type === 'array') {
            const selected = Array.isArray(current) ? current.map(String) : [];
            return list ? (
              <MultiSelect
                key={p.name}
                size="xs"
                label={label}
                description={p.description}
                data={list}
                value={selected}
                onChange={(v) => set(p.name, v)}
                searchable
                miw={200}
              />
            ) : (
              <TagsInput
                key={p.name}
                size="xs"
                label={label}
                description={p.description}
                value={selected}
                onChange={(v) => set(p.name, v)}
                miw={180}
              />
            );
          }
          if (list) {
            return (
              <Select
                key={p.name}
                size="xs"
                label={label}
                data={list}
                value={current === undefined ? null : String(current)}
                onChange={(v) => set(p.name, v ?? undefined)}
              />
            );
          }
          if (p.type === 'integer' || p.type === 'number') {
            return (
              <NumberInput
                key={p.name}
                size="xs"
                label={label}
                w={130}
                min={p.minimum && p.minimum > -1e9 ? p.minimum : undefined}
                max={p.maximum}
                allowDecimal={p.type === 'number'}
                value={typeof current === 'number' ? current : ''}
                onChange={(v) => set(p.name, typeof v === 'number' ? v : undefined)}
              />
            );
          }
          if (p.type === 'boolean') {
            return (
              <Select
                key={p.name}
                size="xs"
                label={label}
                w={110}
                data={[
                  { value: 'true', label: t('yes') },
                  { value: 'false', label: t('no') },
                ]}
                value={current === undefined ? null : String(current)}
                onChange={(v) => set(p.name, v === null ? undefined : v === 'true')}
              />
            );
          }
          return (
            <TextInput
              key={p.name}
              size="xs"
              label={label}
              value={typeof current === 'string' ? current : ''}
              onChange={(e) => set(p.name, e.currentTarget.value)}
            />
          );
        })}
        <ActionIcon
          variant="subtle"
          color="red"
          onClick={onRemove}
          aria-label={t('segments.removeCondition', { name: title })}
        >
          ×
        </ActionIcon>
      </Group>
    </Card>
  );
}
