import { Card, Loader, Text, Title } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorNotice } from './ErrorNotice';
import type { Loaded } from './useLoad';

/**
 * A titled card over a loaded list: the error (of loading, or of an action on a row), a loader the first
 * time, a line when the list is empty, else what `children` renders of the items.
 */
export function ListSection<T>(props: {
  id: string;
  title: string;
  list: Loaded<unknown>;
  items: T[] | undefined;
  empty: string;
  error?: Error;
  children: (items: T[]) => ReactNode;
}) {
  const { t } = useTranslation();
  const { list, items } = props;
  return (
    <Card withBorder component="section" aria-labelledby={`${props.id}-title`} data-testid={props.id}>
      <Title order={3} size="h4" id={`${props.id}-title`} mb="xs">
        {props.title}
      </Title>
      <ErrorNotice error={props.error ?? list.error} />
      {list.loading && !list.data && <Loader aria-label={t('loading')} />}
      {items && items.length === 0 && <Text size="sm">{props.empty}</Text>}
      {items && items.length > 0 && props.children(items)}
    </Card>
  );
}

/** Runs an action on a row (acknowledge, done…), then `after` (a reload); keeps its error for the page. */
export function useRowAction(after: () => void): {
  error: Error | undefined;
  run: (action: () => Promise<unknown>) => Promise<void>;
} {
  const [error, setError] = useState<Error>();
  async function run(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
      after();
    } catch (failure) {
      setError(failure as Error);
    }
  }
  return { error, run };
}
