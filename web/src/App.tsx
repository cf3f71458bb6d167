import {
  AppShell,
  Badge,
  Burger,
  Button,
  Center,
  Group,
  Loader,
  NavLink,
  Select,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { useAuth, useStaff } from './auth';
import { type Language, setLanguage } from './i18n';
import { Customer360Page } from './pages/Customer360';
import { CustomersPage } from './pages/Customers';
import { ChangePasswordPage, SignInPage } from './pages/SignIn';
import type { Permission } from './permissions';

// Pages a role may never open, and the charts only the dashboard draws, load when first visited.
const DashboardPage = lazy(() => import('./pages/Dashboard').then((m) => ({ default: m.DashboardPage })));
const SegmentsPage = lazy(() => import('./pages/Segments').then((m) => ({ default: m.SegmentsPage })));
const CampaignsPage = lazy(() => import('./pages/Campaigns').then((m) => ({ default: m.CampaignsPage })));
const ImportPage = lazy(() => import('./pages/Import').then((m) => ({ default: m.ImportPage })));
const DeskPage = lazy(() => import('./pages/Desk').then((m) => ({ default: m.DeskPage })));
const FlowsPage = lazy(() => import('./pages/Flows').then((m) => ({ default: m.FlowsPage })));
const MailCatcherPage = lazy(() =>
  import('./pages/MailCatcher').then((m) => ({ default: m.MailCatcherPage })),
);

type NavItem = { to: string; label: string; permission: Permission };
const NAV: readonly NavItem[] = [
  { to: '/', label: 'nav.dashboard', permission: 'reports:read' },
  { to: '/customers', label: 'nav.customers', permission: 'customers:read' },
  { to: '/segments', label: 'nav.segments', permission: 'segments:write' },
  { to: '/campaigns', label: 'nav.campaigns', permission: 'campaigns:write' },
  { to: '/flows', label: 'nav.flows', permission: 'reports:read' },
  { to: '/desk', label: 'nav.desk', permission: 'interactions:write' },
  { to: '/import', label: 'nav.import', permission: 'customers:write' },
  { to: '/mails', label: 'nav.mails', permission: 'campaigns:write' },
];

export function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <Select
      aria-label={t('language')}
      size="xs"
      w={110}
      value={i18n.language}
      data={[
        { value: 'ja', label: '日本語' },
        { value: 'en', label: 'English' },
      ]}
      onChange={(value) => value && setLanguage(value as Language)}
      allowDeselect={false}
    />
  );
}

export function App() {
  const { state } = useAuth();
  if (state.status === 'loading') {
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (state.status === 'signedOut') return <SignInPage notice={state.notice} />;
  if (state.staff.mustChangePassword) return <ChangePasswordPage />;
  return <Shell />;
}

function Shell() {
  const { t } = useTranslation();
  const { can, signOut } = useAuth();
  const staff = useStaff();
  const location = useLocation();
  const [opened, { toggle, close }] = useDisclosure();
  const items = NAV.filter((item) => can(item.permission));
  const home = can('reports:read') ? '/' : '/customers';
  const stores = staff.allStores ? t('shell.allStores') : staff.storeIds.map((id) => `#${id}`).join(', ');
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('shell.menu')} />
            <Title order={1} size="h3">
              <Link to={home} style={{ color: 'inherit', textDecoration: 'none' }}>
                Kizuna 絆
              </Link>
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Stack gap={0} align="flex-end" visibleFrom="xs">
              <Text size="sm" fw={600} data-testid="staff-name">
                {staff.name}
              </Text>
              <Text size="xs" c="dimmed">
                {stores}
              </Text>
            </Stack>
            <Badge variant="light" data-testid="staff-role">
              {t(`roles.${staff.role}`)}
            </Badge>
            <LanguageSelect />
            <Button size="xs" variant="default" onClick={() => void signOut()}>
              {t('shell.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t('shell.navigation')}>
        {items.map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={t(item.label)}
            active={item.to === '/' ? location.pathname === '/' : location.pathname.startsWith(item.to)}
            onClick={close}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense fallback={<Loader aria-label={t('loading')} />}>
          <Routes>
            <Route
              path="/"
              element={can('reports:read') ? <DashboardPage /> : <Navigate to="/customers" />}
            />
            <Route path="/customers" element={<CustomersPage />} />
            <Route path="/customers/:id" element={<Customer360Page />} />
            <Route path="/segments" element={<SegmentsPage />} />
            <Route path="/campaigns/*" element={<CampaignsPage />} />
            <Route path="/flows/*" element={<FlowsPage />} />
            <Route path="/desk/*" element={<DeskPage />} />
            <Route path="/import" element={<ImportPage />} />
            <Route path="/mails" element={<MailCatcherPage />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={2}>{t('notFound.title')}</Title>
      <Link to="/">{t('notFound.back')}</Link>
    </Stack>
  );
}
