// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  // Standalone headers for every page; the kit adds stricter ones to its own HTML.
  poweredByHeader: false,
  reactStrictMode: true,
  // No telemetry, fonts or images are fetched at build or run time: the app works offline.
  images: { unoptimized: true },
  eslint: { ignoreDuringBuilds: true },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'no-referrer' },
        ],
      },
    ];
  },
};

export default nextConfig;
