import { Alert } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

/** A failed request, with the server's own message (which names the field at fault). */
export function ErrorNotice({ error }: { error: Error | undefined }) {
  const { t } = useTranslation();
  if (!error) return null;
  const title =
    error instanceof ApiError && error.status === 403 ? t('errors.forbidden') : t('errors.failed');
  return (
    <Alert color="red" title={title} role="alert">
      {error.message}
    </Alert>
  );
}
