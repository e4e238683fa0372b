import { createAuthMiddleware } from '@sesame/nextjs/middleware';
import { sessionSecret, sessionSecretFallbacks } from './lib/session-secret';

const protect = createAuthMiddleware({
  sessionSecret,
  sessionSecretFallbacks,
  protect: ['/dashboard/:path*'],
  loginPath: '/login',
  // The login redirect's base: the configured URL, never X-Forwarded-Host.
  appUrl: () => process.env.APP_URL,
});

// Next.js 16 runs the proxy (formerly middleware) on the Node.js runtime before each matching request.
export function proxy(request: Request): Promise<Response | undefined> {
  return protect(request);
}

export const config = {
  matcher: ['/dashboard/:path*'],
};
