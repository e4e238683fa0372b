/**
 * Access tokens: HS256 JWTs (jose) with iss, aud, sub = client id, iat, exp and jti. A small
 * bounded cache remembers tokens already verified until they expire, so the signature is
 * checked once per token rather than once per request; revocation is still checked against
 * the store on every request by the caller.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Clock } from '@sesame/core';

export const TOKEN_AUDIENCE = 'sesame-api';
const CACHE_LIMIT = 10_000;

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
}

export interface TokenService {
  issue(clientId: string): Promise<IssuedToken>;
  /** The client id the token was issued to, or `null` when it is not a valid, current token. */
  verify(token: string): Promise<string | null>;
}

export function createTokenService(options: { key: Uint8Array; issuer: string; ttlSeconds: number; clock: Clock }): TokenService {
  const { key, issuer, ttlSeconds, clock } = options;
  const verified = new Map<string, { clientId: string; expiresAt: number }>();

  return {
    async issue(clientId) {
      const nowSeconds = Math.floor(clock.now() / 1000);
      const accessToken = await new SignJWT({})
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
        if (cached.expiresAt > now) return cached.clientId;
        verified.delete(token);
        return null;
      }
      if (token.length > 4096) return null;
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer,
          audience: TOKEN_AUDIENCE,
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp', 'jti'],
          currentDate: new Date(now),
        });
        if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
        // A full cache is simply emptied: it only saves work, and a burst of new tokens is rare.
        if (verified.size >= CACHE_LIMIT) verified.clear();
        verified.set(token, { clientId: payload.sub, expiresAt: payload.exp * 1000 });
        return payload.sub;
      } catch {
        return null;
      }
    },
  };
}
