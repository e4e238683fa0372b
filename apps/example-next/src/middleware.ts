import { createAuthMiddleware } from '@sesame/nextjs/middleware';
import { sessionSecret } from './lib/session-secret';

const protect = createAuthMiddleware({
  sessionSecret,
  protect: ['/dashboard/:path*'],
  loginPath: '/login',
});

export function middleware(request: Request): Promise<Response | undefined> {
  return protect(request);
}

export const config = {
  matcher: ['/dashboard/:path*'],
};
