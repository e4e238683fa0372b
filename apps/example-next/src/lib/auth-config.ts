/**
 * The app's sign-in configuration, read from the server's environment. Kept apart from
 * session-store.ts (which is 'server-only') so the startup check in instrumentation.ts can
 * read it too; nothing here is imported by client code.
 */
import type { SesameAuthConfig } from '@sesame/nextjs';
import { sessionSecret, sessionSecretFallbacks } from './session-secret';

function wholeNumber(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${name} must be a whole number of at least ${min}.`);
  return parsed;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set. See apps/example-next/README.md (or run \`npm start\` at the repository root).`);
  }
  return value;
}

/**
 * The app's public URL: the magic link points there, and it is never taken from request
 * headers. Production requires it; `next dev` may leave it out and is then served on loopback
 * addresses only.
 */
export function appUrl(): string | undefined {
  const configured = process.env.APP_URL;
  if (configured !== undefined && configured !== '') return configured;
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      "APP_URL is not set: in production it must be the app's public URL (e.g. https://app.example.com), where magic links point.",
    );
  }
  return undefined;
}

/** Read on first use, at request time (and once at startup): `next build` runs without these variables. */
export function readConfig(): SesameAuthConfig {
  const env = process.env;
  const sendPerMinute = wholeNumber('THROTTLE_SEND_PER_MINUTE', env.THROTTLE_SEND_PER_MINUTE, 1);
  const verifyPerMinute = wholeNumber('THROTTLE_VERIFY_PER_MINUTE', env.THROTTLE_VERIFY_PER_MINUTE, 1);
  const resendCooldown = wholeNumber('RESEND_COOLDOWN_SECONDS', env.RESEND_COOLDOWN_SECONDS, 1);
  return {
    sesameUrl: required('SESAME_URL', env.SESAME_URL),
    clientId: required('SESAME_CLIENT_ID', env.SESAME_CLIENT_ID),
    clientSecret: required('SESAME_CLIENT_SECRET', env.SESAME_CLIENT_SECRET),
    sessionSecret: sessionSecret(),
    sessionSecretFallbacks: sessionSecretFallbacks(),
    appUrl: appUrl(),
    // 0 (the default) when `next start` faces clients directly; 1 behind one reverse proxy.
    trustedProxyHops: wholeNumber('TRUSTED_PROXY_HOPS', env.TRUSTED_PROXY_HOPS, 0) ?? 0,
    appName: 'Sesame example',
    loginPath: '/login',
    verifyPath: '/api/auth/verify',
    afterSignInPath: '/dashboard',
    session: { maxAgeSeconds: wholeNumber('SESSION_MAX_AGE_SECONDS', env.SESSION_MAX_AGE_SECONDS, 1) ?? 7 * 24 * 3600 },
    signIn: {
      expiresIn: wholeNumber('SIGN_IN_EXPIRES_IN', env.SIGN_IN_EXPIRES_IN, 1),
      ...(resendCooldown === undefined ? {} : { resendCooldownSeconds: resendCooldown }),
    },
    throttle: {
      ...(sendPerMinute === undefined ? {} : { send: { limit: sendPerMinute, windowSeconds: 60 } }),
      ...(verifyPerMinute === undefined ? {} : { verify: { limit: verifyPerMinute, windowSeconds: 60 } }),
    },
  };
}
