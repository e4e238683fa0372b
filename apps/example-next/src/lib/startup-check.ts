import { createSesameAuth } from '@sesame/nextjs';
import { readConfig } from './auth-config';
import { usersDatabase, usersDatabasePath } from './users-db';

/**
 * Resolves the kit's configuration and opens the users database once. Next.js only logs an
 * error thrown from `register()` and keeps serving (every sign-in would then fail), so the
 * process exits instead.
 */
export function checkConfigurationOrExit(): void {
  try {
    createSesameAuth(readConfig()).settings();
  } catch (error) {
    console.error(`Configuration error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  try {
    usersDatabase();
  } catch (error) {
    console.error(
      `Cannot open the users database ${usersDatabasePath()} (USERS_DATABASE): ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}
