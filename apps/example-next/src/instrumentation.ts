/**
 * Runs once when the server starts (never during `next build`): a missing or malformed setting
 * (APP_URL in production, SESAME_URL, …) stops the server at once with a message naming it,
 * instead of surfacing on the first sign-in. The check lives in a Node-only module, imported
 * only in the Node.js runtime.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { checkConfigurationOrExit } = await import('./lib/startup-check');
    checkConfigurationOrExit();
  }
}
