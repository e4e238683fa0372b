/**
 * The app's sign-in wiring: one `auth` object built on @sesame/nextjs, configured from the
 * server's environment. `server-only` makes any import from a Client Component a build error,
 * so Sesame's client secret and the session secret can never reach the browser bundle.
 */
import 'server-only';
import { createSesameAuth } from '@sesame/nextjs';
import { readConfig } from './auth-config';

export const auth = createSesameAuth(readConfig);

export const getSession = (): ReturnType<typeof auth.getSession> => auth.getSession();
export const getPendingSignIn = (): ReturnType<typeof auth.getPendingSignIn> => auth.getPendingSignIn();
