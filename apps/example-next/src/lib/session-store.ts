/**
 * The app's sign-in wiring: one `auth` object built on @sesame/nextjs, configured from the
 * server's environment, with the app's own users (users.ts) deciding each verified sign-in.
 * `server-only` makes any import from a Client Component a build error, so Sesame's client
 * secret and the session secret can never reach the browser bundle.
 */
import 'server-only';
import { createSesameAuth } from '@sesame/nextjs';
import { readConfig } from './auth-config';
import { onVerified, sessionStore, templateFor } from './users';

export const auth = createSesameAuth(() => {
  const config = readConfig();
  return { ...config, signIn: { ...config.signIn, template: templateFor }, onVerified, sessions: sessionStore };
});

export const getSession = (): ReturnType<typeof auth.getSession> => auth.getSession();
export const getPendingSignIn = (): ReturnType<typeof auth.getPendingSignIn> => auth.getPendingSignIn();
export const getSignInError = (query?: Parameters<typeof auth.getSignInError>[0]): ReturnType<typeof auth.getSignInError> =>
  auth.getSignInError(query);
export const requireSession = (options?: Parameters<typeof auth.requireSession>[0]): ReturnType<typeof auth.requireSession> =>
  auth.requireSession(options);
