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
