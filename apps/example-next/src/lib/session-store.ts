/**
 * The app's sign-in wiring: one `auth` object built on @sesame/nextjs, configured from the
 * server's environment. `server-only` makes any import from a Client Component a build error,
 * so Sesame's client secret and the session secret can never reach the browser bundle.
 */
import 'server-only';
import { createSesameAuth, type SesameAuthConfig } from '@sesame/nextjs';
import { sessionSecret } from './session-secret';

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name} must be a positive whole number.`);
  return parsed;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set. See apps/example-next/README.md (or run \`npm start\` at the repository root).`);
  }
  return value;
}

/** Read on first use, at request time: `next build` runs without these variables. */
function readConfig(): SesameAuthConfig {
  const env = process.env;
  const sendPerMinute = positiveInteger('THROTTLE_SEND_PER_MINUTE', env.THROTTLE_SEND_PER_MINUTE);
  const verifyPerMinute = positiveInteger('THROTTLE_VERIFY_PER_MINUTE', env.THROTTLE_VERIFY_PER_MINUTE);
  const resendCooldown = positiveInteger('RESEND_COOLDOWN_SECONDS', env.RESEND_COOLDOWN_SECONDS);
  return {
    sesameUrl: required('SESAME_URL', env.SESAME_URL),
    clientId: required('SESAME_CLIENT_ID', env.SESAME_CLIENT_ID),
    clientSecret: required('SESAME_CLIENT_SECRET', env.SESAME_CLIENT_SECRET),
    sessionSecret: sessionSecret(),
    appUrl: env.APP_URL === '' ? undefined : env.APP_URL,
    appName: 'Sesame example',
    loginPath: '/login',
    verifyPath: '/api/auth/verify',
    afterSignInPath: '/dashboard',
    session: { maxAgeSeconds: positiveInteger('SESSION_MAX_AGE_SECONDS', env.SESSION_MAX_AGE_SECONDS) ?? 7 * 24 * 3600 },
    signIn: {
      expiresIn: positiveInteger('SIGN_IN_EXPIRES_IN', env.SIGN_IN_EXPIRES_IN),
      ...(resendCooldown === undefined ? {} : { resendCooldownSeconds: resendCooldown }),
    },
    throttle: {
      ...(sendPerMinute === undefined ? {} : { send: { limit: sendPerMinute, windowSeconds: 60 } }),
      ...(verifyPerMinute === undefined ? {} : { verify: { limit: verifyPerMinute, windowSeconds: 60 } }),
    },
  };
}

export const auth = createSesameAuth(readConfig);

export const getSession = (): ReturnType<typeof auth.getSession> => auth.getSession();
export const getPendingSignIn = (): ReturnType<typeof auth.getPendingSignIn> => auth.getPendingSignIn();
