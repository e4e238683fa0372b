// @ts-check

/**
 * The app's own host (from APP_URL, read when the server starts) may invoke Server Actions.
 * Next.js compares a Server Action's Origin with X-Forwarded-Host, which a client (or a proxy
 * that rewrites Host) can set to anything; the configured URL is the one that counts, as for the
 * magic link. A malformed APP_URL is left to the startup check, which names it.
 */
function appHost() {
  try {
    return process.env.APP_URL ? [new URL(process.env.APP_URL).host] : [];
  } catch {
    return [];
  }
}

/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // No telemetry, fonts or images are fetched at build or run time: the app works offline.
  images: { unoptimized: true },
  // Otherwise Next.js rewrites the proxy's redirects to 127.0.0.1 into "localhost", a different
  // cookie host, so the browser would arrive at the login page without its cookies.
  skipProxyUrlNormalize: true,
  experimental: { serverActions: { allowedOrigins: appHost() } },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          // Not no-referrer: that makes browsers send `Origin: null` on same-origin form posts.
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default nextConfig;
