import { Alert, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';

function ComingWithIssue({ page }: { page: 'campaigns' | 'import' | 'mails' }) {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={2}>{t(`nav.${page}`)}</Title>
      <Alert color="gray" title={t('coming.title')} data-testid="coming-soon">
        <Text size="sm">{t(`coming.${page}`)}</Text>
      </Alert>
    </Stack>
  );
}

export const CampaignsPage = () => <ComingWithIssue page="campaigns" />;
export const ImportPage = () => <ComingWithIssue page="import" />;
export const MailCatcherPage = () => <ComingWithIssue page="mails" />;
