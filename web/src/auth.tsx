import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, ok, onSignedOut, setCsrfToken } from './api/client';
import type { SessionAnswer, SignInAnswer, Staff } from './api/types';
import { type Permission, roleCan } from './permissions';

type AuthState =
  | { status: 'loading' }
  | { status: 'signedOut'; notice?: string }
  | { status: 'signedIn'; staff: Staff };

type Auth = {
  state: AuthState;
  signIn(login: string, password: string): Promise<Staff>;
  signOut(): Promise<void>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** Whether the signed-in role has a permission (pages hide what it cannot do). */
  can(permission: Permission): boolean;
};

const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}

/** The signed-in staff member (pages behind the sign-in only). */
export function useStaff(): Staff {
  const { state } = useAuth();
  if (state.status !== 'signedIn') throw new Error('useStaff while signed out');
  return state.staff;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    ok<SessionAnswer>(api.GET('/api/session'))
      .then((session) => {
        if (!live) return;
        setCsrfToken(session.csrfToken);
        setState(session.staff ? { status: 'signedIn', staff: session.staff } : { status: 'signedOut' });
      })
      .catch(() => live && setState({ status: 'signedOut' }));
    const stop = onSignedOut(() => {
      setCsrfToken(null);
      setState({ status: 'signedOut', notice: 'sessionEnded' });
    });
    return () => {
      live = false;
      stop();
    };
  }, []);

  const signIn = useCallback(async (login: string, password: string) => {
    const answer = await ok<SignInAnswer>(api.POST('/api/session', { body: { login, password } }));
    setCsrfToken(answer.csrfToken);
    setState({ status: 'signedIn', staff: answer.staff });
    return answer.staff;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await ok(api.DELETE('/api/session'));
    } finally {
      setCsrfToken(null);
      setState({ status: 'signedOut' });
    }
  }, []);

  const changePassword = useCallback(async (currentPassword: string, newPassword: string) => {
    await ok(api.POST('/api/session/password', { body: { currentPassword, newPassword } }));
    // Every session of the account ends: sign in again with the new password.
    setCsrfToken(null);
    setState({ status: 'signedOut', notice: 'passwordChanged' });
  }, []);

  const value = useMemo<Auth>(
    () => ({
      state,
      signIn,
      signOut,
      changePassword,
      can: (permission) => state.status === 'signedIn' && roleCan(state.staff.role, permission),
    }),
    [state, signIn, signOut, changePassword],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
