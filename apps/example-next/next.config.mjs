// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // No telemetry, fonts or images are fetched at build or run time: the app works offline.
  images: { unoptimized: true },
  eslint: { ignoreDuringBuilds: true },
  // Otherwise Next.js rewrites middleware redirects to 127.0.0.1 into "localhost", a different
  // cookie host, so the browser would arrive at the login page without its cookies.
  skipMiddlewareUrlNormalize: true,
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
