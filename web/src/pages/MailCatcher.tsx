import { Alert, Card, Group, Loader, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { api, ok } from '../api/client';
import type { CaughtMail } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../components/useLoad';
import { formatDateTime } from '../format';

/** Demo mode: the mails the local SMTP catcher of `kizuna serve` (no SMTP_URL) caught, newest first. */
export function MailCatcherPage() {
  const { t } = useTranslation();
  const mails = useLoad(
    () =>
      ok<{ mails: CaughtMail[] }>(
        api.GET('/api/demo/mails', { params: { query: { limit: '50' } } as never }),
      ),
    [],
  );
  return (
    <Stack>
      <Title order={2}>{t('nav.mails')}</Title>
      <Text size="sm">{t('mails.intro')}</Text>
      <ErrorNotice error={mails.error} />
      {mails.loading && <Loader aria-label={t('loading')} />}
      {mails.data && mails.data.mails.length === 0 && <Alert color="gray">{t('mails.none')}</Alert>}
      {mails.data?.mails.map((mail) => (
        <Card key={mail.id} withBorder component="article" aria-label={mail.subject}>
          <Group justify="space-between">
            <Text fw={600}>{mail.subject}</Text>
            <Text size="xs" c="dimmed">
              {formatDateTime(mail.date)}
            </Text>
          </Group>
          <Text size="sm" c="dimmed">
            {t('mails.to')}: {mail.to}
          </Text>
          <Text size="sm" mt="xs" style={{ whiteSpace: 'pre-wrap' }}>
            {mail.text}
          </Text>
        </Card>
      ))}
    </Stack>
  );
}
