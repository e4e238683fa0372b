import { createSesameAuth } from '@sesame/nextjs';
import { readConfig } from './auth-config';

/**
 * Resolves the kit's configuration once. Next.js only logs an error thrown from `register()`
 * and keeps serving (every sign-in would then fail), so the process exits instead.
 */
export function checkConfigurationOrExit(): void {
  try {
    createSesameAuth(readConfig()).settings();
  } catch (error) {
    console.error(`Configuration error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
