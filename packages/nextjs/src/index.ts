export {
  createSesameAuth,
  type Handler,
  type ResolvedSettings,
  type SendActionState,
  type SesameAuth,
  type SesameAuthConfig,
} from './auth.js';
export { USER_MESSAGES, endsAuthRequest, isKitErrorCode, userMessage, type KitErrorCode } from './messages.js';
export { safeNextPath } from './next-path.js';
export {
  UNATTRIBUTED_KEY,
  clientKey,
  createThrottle,
  defaultClientIp,
  type ClientIpFunction,
  type ClientIpSource,
  type Throttle,
  type ThrottleDecision,
  type ThrottleRule,
} from './throttle.js';
export { type PendingSignIn } from './tokens.js';
export {
  MAX_CLAIMS_BYTES,
  RESERVED_CLAIMS,
  createMemorySessionStore,
  type JsonValue,
  type MemorySessionStoreOptions,
  type Session,
  type SessionClaims,
  type SessionStore,
} from './session.js';
export { MAX_REFUSAL_LENGTH, type OnVerified, type SignInDecision, type VerifiedSignIn } from './on-verified.js';
export type { TemplateSetting, TemplateVariables, TemplateVariablesSetting } from './templates.js';
export type { SameSiteSetting } from './cookie-config.js';
export type { RequireSessionOptions, SessionHandler } from './protect.js';
export type { SignInError, SignInErrorQuery } from './sign-in-error.js';
export { createAuthMiddleware, type AuthMiddleware, type AuthMiddlewareOptions } from './middleware.js';
