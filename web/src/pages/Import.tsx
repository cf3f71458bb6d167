import {
  Alert,
  Button,
  Checkbox,
  FileInput,
  Group,
  Progress,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ok, postText } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { formatNumber } from '../format';

const KINDS = [
  'customers',
  'products',
  'stores',
  'staff',
  'orders',
  'returns',
  'touches',
  'interactions',
  'preferences',
] as const;

type ImportError = {
  line: number;
  field: string;
  column: string | null;
  value: string | null;
  reason: string;
};
type ImportResult = {
  kind: string;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  duplicates: number;
  committed: boolean;
  dryRun: boolean;
  errorCount: number;
  errors: ImportError[];
  warnings?: unknown[];
};
type ImportJob = {
  id: string;
  status: 'running' | 'done' | 'failed';
  totalRows: number | null;
  rowsDone: number;
  result: ImportResult | null;
  error: string | null;
};

/** The first line of a CSV as column names (quotes removed; enough to offer a mapping). */
function headerOf(text: string): string[] {
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return first
    .split(',')
    .map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
    .filter((c) => c.length > 0);
}

/** Upload a CSV: map its columns, dry-run it for the line-numbered error report, then import it. */
export function ImportPage() {
  const { t } = useTranslation();
  const [kind, setKind] = useState<string>('customers');
  const [file, setFile] = useState<File | null>(null);
  const [text, setText] = useState('');
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [strict, setStrict] = useState(false);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [job, setJob] = useState<ImportJob | null>(null);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setResult(null);
    setJob(null);
    if (!file) {
      setText('');
      setMapping({});
      return;
    }
    void file.text().then((content) => {
      setText(content);
      setMapping(Object.fromEntries(headerOf(content).map((c) => [c, c])));
    });
  }, [file]);

  // A running job is asked for its progress every half second until it is done.
  useEffect(() => {
    if (job?.status !== 'running') return;
    const timer = setTimeout(() => {
      ok<ImportJob>(api.GET('/api/imports/{id}', { params: { path: { id: job.id } } }))
        .then(setJob)
        .catch((failure: Error) => setError(failure));
    }, 500);
    return () => clearTimeout(timer);
  }, [job]);

  function query(dryRun: boolean): Record<string, string> {
    const renamed = Object.fromEntries(Object.entries(mapping).filter(([from, to]) => to && to !== from));
    return {
      kind,
      dryRun: String(dryRun),
      ...(strict ? { strict: 'true' } : {}),
      ...(Object.keys(renamed).length ? { mapping: JSON.stringify(renamed) } : {}),
      ...(file ? { name: file.name.replace(/[/\\]/g, '_') } : {}),
    };
  }

  async function run(dryRun: boolean) {
    setBusy(true);
    setError(undefined);
    setResult(null);
    setJob(null);
    try {
      const answer = await postText<ImportResult | ImportJob>('/api/imports', query(dryRun), text);
      if ('status' in answer) setJob(answer);
      else setResult(answer);
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  }

  const shown = job?.result ?? result;
  return (
    <Stack>
      <Title order={2}>{t('import.title')}</Title>
      <Text size="sm">{t('import.intro')}</Text>
      <Group align="flex-end">
        <Select
          label={t('import.kind')}
          data={KINDS.map((k) => ({ value: k, label: t(`import.kinds.${k}`) }))}
          value={kind}
          onChange={(v) => v && setKind(v)}
          allowDeselect={false}
        />
        <FileInput
          label={t('import.file')}
          placeholder={t('import.choose')}
          accept=".csv,text/csv"
          clearButtonProps={{ 'aria-label': t('import.clear') }}
          value={file}
          onChange={setFile}
          clearable
          w={320}
        />
        <Checkbox
          label={t('import.strict')}
          checked={strict}
          onChange={(e) => setStrict(e.currentTarget.checked)}
        />
      </Group>
      {Object.keys(mapping).length > 0 && (
        <section aria-labelledby="mapping-title">
          <Title order={3} size="h4" id="mapping-title">
            {t('import.mapping')}
          </Title>
          <Text size="sm" c="dimmed" mb="xs">
            {t('import.mappingHelp')}
          </Text>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            {Object.entries(mapping).map(([from, to]) => (
              <TextInput
                key={from}
                label={from}
                value={to}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  setMapping((m) => ({ ...m, [from]: value }));
                }}
              />
            ))}
          </SimpleGrid>
        </section>
      )}
      <Group>
        <Button variant="default" disabled={!text || busy} onClick={() => void run(true)}>
          {t('import.dryRun')}
        </Button>
        <Button disabled={!text || busy || job?.status === 'running'} onClick={() => void run(false)}>
          {t('import.run')}
        </Button>
      </Group>
      <ErrorNotice error={error} />
      {job && job.status === 'running' && (
        <Stack gap={4}>
          <Text size="sm" role="status">
            {t('import.progress', {
              done: formatNumber(job.rowsDone),
              total: job.totalRows === null ? '…' : formatNumber(job.totalRows),
            })}
          </Text>
          <Progress
            value={job.totalRows ? (100 * job.rowsDone) / job.totalRows : 0}
            aria-label={t('import.progressLabel')}
          />
        </Stack>
      )}
      {job?.status === 'failed' && <Alert color="red">{job.error}</Alert>}
      {shown && (
        <Stack data-testid="import-result">
          <Alert color={shown.errorCount > 0 ? 'yellow' : 'teal'} role="status">
            {t(shown.dryRun ? 'import.dryRunSummary' : 'import.summary', {
              rows: formatNumber(shown.rows),
              inserted: formatNumber(shown.inserted),
              updated: formatNumber(shown.updated),
              unchanged: formatNumber(shown.unchanged),
              rejected: formatNumber(shown.rejected),
            })}
          </Alert>
          {shown.errors.length > 0 && (
            <Table striped data-testid="import-errors">
              <Table.Caption>{t('import.errors', { count: shown.errorCount })}</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('import.line')}</Table.Th>
                  <Table.Th>{t('import.column')}</Table.Th>
                  <Table.Th>{t('import.value')}</Table.Th>
                  <Table.Th>{t('import.reason')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.errors.map((e) => (
                  <Table.Tr key={`${e.line}-${e.field}`}>
                    <Table.Td>{e.line}</Table.Td>
                    <Table.Td>{e.column ?? e.field}</Table.Td>
                    <Table.Td>{e.value ?? '—'}</Table.Td>
                    <Table.Td>{e.reason}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </Stack>
  );
}
