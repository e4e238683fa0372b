import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Sesame example', template: '%s · Sesame example' },
  description: 'Passwordless sign-in with Sesame: a magic link, with a one-time code as fallback.',
  robots: { index: false },
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <span className="brand" aria-label="Sesame example">
            <span className="brand-mark" aria-hidden="true">
              S
            </span>
            Sesame example
          </span>
        </header>
        <main id="main" className="site-main">
          {children}
        </main>
      </body>
    </html>
  );
}
