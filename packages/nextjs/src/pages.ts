/**
 * The one page the kit renders itself: the scanner-safe confirmation behind a magic link. It is
 * plain HTML from a route handler (no React, no external assets) so it works before any app
 * code loads, and it is locked down: no caching, no referrer (the URL holds a link token), no
 * framing (the button must not be clickjacked), forms only to this origin.
 */
import { escapeHtml } from '@sesame/core';

export interface ConfirmPageProps {
  readonly linkToken: string;
  /** Where the button POSTs: the verify route. */
  readonly action: string;
  readonly loginPath: string;
  readonly appName: string;
}

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#16181d;--muted:#5b6170;--accent:#3451d1;--accent-fg:#fff;--ring:#9db0ff}
@media (prefers-color-scheme:dark){:root{--bg:#111318;--card:#1b1e25;--fg:#eceef3;--muted:#a3a9b8;--accent:#7d93ff;--accent-fg:#0b0d12;--ring:#4a5fc1}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;padding:1.5rem}
main{width:100%;max-width:26rem;background:var(--card);border-radius:14px;padding:2rem;box-shadow:0 1px 2px rgb(0 0 0/.06),0 8px 28px rgb(0 0 0/.08)}
h1{font-size:1.375rem;margin:0 0 .5rem}
p{margin:.5rem 0 1rem;color:var(--muted)}
button{width:100%;font:inherit;font-weight:600;padding:.75rem 1rem;border:0;border-radius:10px;background:var(--accent);color:var(--accent-fg);cursor:pointer}
button:focus-visible,a:focus-visible{outline:3px solid var(--ring);outline-offset:2px}
a{color:var(--accent)}
.note{font-size:.9rem;margin:1rem 0 0}
`;

/** The locked-down shell both pages share: `title` is escaped here, `head` and `main` are already safe HTML. */
function renderPage(title: string, main: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
${head}<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main aria-labelledby="title">
${main}
</main>
</body>
</html>`;
}

/** After a link sign-in with SameSite=Strict cookies: a same-origin step, so the new cookie is sent. */
export function renderContinuePage(props: { readonly next: string; readonly appName: string }): string {
  const next = escapeHtml(props.next);
  return renderPage(
    `Signed in · ${props.appName}`,
    `<h1 id="title">You are signed in</h1>
<p><a href="${next}">Continue</a></p>`,
    `<meta http-equiv="refresh" content="0;url=${next}">\n`,
  );
}

export function renderConfirmPage(props: ConfirmPageProps): string {
  return renderPage(
    `Continue signing in · ${props.appName}`,
    `<h1 id="title">Continue signing in</h1>
<p>You opened a sign-in link for ${escapeHtml(props.appName)}. Press the button to finish signing in on this device.</p>
<form method="post" action="${escapeHtml(props.action)}">
<input type="hidden" name="link_token" value="${escapeHtml(props.linkToken)}">
<button type="submit" autofocus>Continue signing in</button>
</form>
<p class="note">Started signing in in another browser? Open this link there, or enter the code from the email in that browser.</p>
<p class="note">Didn’t ask to sign in? Close this page: nothing happens until the button is pressed. <a href="${escapeHtml(props.loginPath)}">Go to sign-in</a></p>`,
  );
}
