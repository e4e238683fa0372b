/**
 * Access tokens: HS256 JWTs (jose) with iss, aud, sub = client id, iat, exp, jti and `sv`, the
 * client's secret version when the token was issued. A small bounded cache remembers tokens
 * already verified until they expire, so the signature is checked once per token rather than
 * once per request; revocation and rotation are still checked against the store on every
 * request by the caller (auth.ts), which compares `sv` with the client's current version.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Clock } from '@sesame/core';

export const TOKEN_AUDIENCE = 'sesame-api';
/** The claim carrying the client's secret version. */
export const SECRET_VERSION_CLAIM = 'sv';
const CACHE_LIMIT = 10_000;

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
}

/** What a valid token says about its holder. */
export interface VerifiedToken {
  readonly clientId: string;
  /** The client's secret version at issue; 1 for a token issued before versions were carried. */
  readonly secretVersion: number;
}

export interface TokenService {
  /** A token for the client at its current secret version (1 when not given). */
  issue(clientId: string, secretVersion?: number): Promise<IssuedToken>;
  /** The token's client and secret version, or `null` when it is not a valid, current token. */
  verify(token: string): Promise<VerifiedToken | null>;
}

export function createTokenService(options: {
  key: Uint8Array;
  /** Keys of the fallback secrets: tokens they signed verify until they expire; none is signed with them. */
  fallbackKeys?: readonly Uint8Array[];
  issuer: string;
  ttlSeconds: number;
  clock: Clock;
}): TokenService {
  const { key, issuer, ttlSeconds, clock } = options;
  const keys = [key, ...(options.fallbackKeys ?? [])];
  const verified = new Map<string, VerifiedToken & { expiresAt: number }>();

  /** The claims under the first key whose signature holds (the current one first); throws when none does. */
  async function verifiedPayload(token: string, now: number) {
    for (let i = 0; ; i++) {
      try {
        const verifiedToken = await jwtVerify(token, keys[i]!, {
          issuer,
          audience: TOKEN_AUDIENCE,
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp', 'jti'],
          currentDate: new Date(now),
        });
        return verifiedToken.payload;
      } catch (error) {
        // Only a signature that failed may hold under an older key; an expired or malformed token does not.
        if (i + 1 >= keys.length || !(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
      }
    }
  }

  return {
    async issue(clientId, secretVersion = 1) {
      const nowSeconds = Math.floor(clock.now() / 1000);
      const accessToken = await new SignJWT({ [SECRET_VERSION_CLAIM]: secretVersion })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(clientId)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + ttlSeconds)
        .setJti(randomBytes(16).toString('base64url'))
        .sign(key);
      return { accessToken, expiresIn: ttlSeconds };
    },

    async verify(token) {
      const now = clock.now();
      const cached = verified.get(token);
      if (cached) {
        if (cached.expiresAt > now) return { clientId: cached.clientId, secretVersion: cached.secretVersion };
        verified.delete(token);
        return null;
      }
      if (token.length > 4096) return null;
      try {
        const payload = await verifiedPayload(token, now);
        if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
        const version = payload[SECRET_VERSION_CLAIM];
        // Tokens issued before the claim existed were issued under the first secret.
        if (version !== undefined && !(typeof version === 'number' && Number.isSafeInteger(version) && version >= 1)) return null;
        const secretVersion = version ?? 1;
        // A full cache is simply emptied: it only saves work, and a burst of new tokens is rare.
        if (verified.size >= CACHE_LIMIT) verified.clear();
        verified.set(token, { clientId: payload.sub, secretVersion, expiresAt: payload.exp * 1000 });
        return { clientId: payload.sub, secretVersion };
      } catch {
        return null;
      }
    },
  };
}
