import {
  Alert,
  Button,
  Center,
  Group,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSelect } from '../App';
import { useAuth } from '../auth';
import { ErrorNotice } from '../components/ErrorNotice';

export function SignInPage({ notice }: { notice?: string }) {
  const { t } = useTranslation();
  const { signIn } = useAuth();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(login, password);
    } catch (failure) {
      setError(failure as Error);
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={submit} aria-labelledby="sign-in-title">
          <Stack>
            <Group justify="space-between">
              <Title order={1} size="h2" id="sign-in-title">
                {t('signIn.title')}
              </Title>
              <LanguageSelect />
            </Group>
            <Text size="sm" c="dimmed">
              {t('signIn.intro')}
            </Text>
            {notice && (
              <Alert color="blue" role="status">
                {t(`signIn.notice.${notice}`)}
              </Alert>
            )}
            <ErrorNotice error={error} />
            <TextInput
              label={t('signIn.login')}
              name="login"
              autoComplete="username"
              required
              autoFocus
              value={login}
              onChange={(e) => setLogin(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('signIn.password')}
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              {t('signIn.submit')}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

/** An account with a one-time password must choose its own before anything else. */
export function ChangePasswordPage() {
  const { t } = useTranslation();
  const { changePassword, signOut } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (next !== repeat) {
      setError(new Error(t('password.mismatch')));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await changePassword(current, next);
    } catch (failure) {
      setError(failure as Error);
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={420}>
        <form onSubmit={submit} aria-labelledby="password-title">
          <Stack>
            <Title order={1} size="h2" id="password-title">
              {t('password.title')}
            </Title>
            <Text size="sm">{t('password.intro')}</Text>
            <ErrorNotice error={error} />
            <PasswordInput
              label={t('password.current')}
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('password.new')}
              description={t('password.rule')}
              autoComplete="new-password"
              required
              value={next}
              onChange={(e) => setNext(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('password.repeat')}
              autoComplete="new-password"
              required
              value={repeat}
              onChange={(e) => setRepeat(e.currentTarget.value)}
            />
            <Group justify="space-between">
              <Button variant="default" onClick={() => void signOut()}>
                {t('shell.signOut')}
              </Button>
              <Button type="submit" loading={busy}>
                {t('password.submit')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
