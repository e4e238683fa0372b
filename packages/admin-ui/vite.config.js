// The dashboard is built offline into dist/ and served by Sesame at /admin (SPA fallback there).
// No inline scripts (CSP script-src 'self'), no CDN, no external fonts.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: { '/admin/api': 'http://127.0.0.1:8080' },
  },
});
