/**
 * The logging shape the email package needs: a structural subset of pino's, so the server can
 * pass its pino logger (or a child of it) as is. Callers here put only ids, counts and SMTP
 * replies in `fields`; never a code, a link token, a link, an address or a rendered body.
 */
export interface EmailLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: EmailLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Error text for a log line or a timeline entry (a stack says nothing to an operator). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'unknown error';
}
