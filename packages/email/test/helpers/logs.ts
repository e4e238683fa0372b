/** A logger that keeps every line, so a test can search them all for secrets. */
import type { EmailLogger } from '../../src/index.js';

export interface CapturedLogs extends EmailLogger {
  readonly lines: string[];
  text(): string;
}

export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const write = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push(JSON.stringify({ level, ...fields, msg: message }));
  };
  return { lines, info: write('info'), warn: write('warn'), error: write('error'), text: () => lines.join('\n') };
}

/** Every code, link token and link in the delivered mail: none may appear in any log line. */
export function secretsIn(texts: readonly string[]): string[] {
  const secrets = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(/code: ([0-9A-Z]{6,8})\b/g)) secrets.add(match[1]!);
    for (const match of text.matchAll(/link_token=([A-Za-z0-9_-]{20,})/g)) secrets.add(match[1]!);
  }
  return [...secrets];
}
