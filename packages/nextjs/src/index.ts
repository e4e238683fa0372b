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
export { type PendingSignIn, type Session } from './tokens.js';
export { createAuthMiddleware, type AuthMiddleware, type AuthMiddlewareOptions } from './middleware.js';
