/**
 * The session secret, read from the environment at request time. Shared by the proxy
 * (Edge runtime) and the server code, so both verify cookies with the same key.
 *
 * Development falls back to a fixed, documented secret rather than a random one: the proxy and
 * route handlers run in separate module instances, and a per-instance random key would make
 * them disagree. Production refuses to run without SESSION_SECRET.
 */
export const DEVELOPMENT_SESSION_SECRET = 'development-only-session-secret-do-not-use-in-production';

export function sessionSecret(): string {
  // Written out literally: Next.js only forwards env variables it can see by name to the proxy.
  const configured = process.env.SESSION_SECRET;
  if (configured !== undefined && configured !== '') return configured;
  if (process.env.NODE_ENV === 'production') {
    throw new Error('SESSION_SECRET is required in production (at least 32 random characters).');
  }
  return DEVELOPMENT_SESSION_SECRET;
}

/**
 * SESSION_SECRET_FALLBACKS: older secrets, comma-separated, whose cookies are still accepted
 * while SESSION_SECRET signs everything new (the kit checks each is at least 32 characters).
 */
export function sessionSecretFallbacks(): readonly string[] {
  const configured = process.env.SESSION_SECRET_FALLBACKS;
  if (configured === undefined) return [];
  return configured
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');
}
