import { createAuthMiddleware } from '@sesame/nextjs/middleware';
import { sessionSecret } from './lib/session-secret';

const protect = createAuthMiddleware({
  sessionSecret,
  protect: ['/dashboard/:path*'],
  loginPath: '/login',
  // The login redirect's base: the configured URL, never X-Forwarded-Host. Written out
  // literally so Next.js forwards the variable to middleware.
  appUrl: () => process.env.APP_URL,
});

export function middleware(request: Request): Promise<Response | undefined> {
  return protect(request);
}

export const config = {
  matcher: ['/dashboard/:path*'],
};
