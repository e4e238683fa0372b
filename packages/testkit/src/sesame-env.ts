/** The environment of a development `sesame` of its own, apart from the test runner's. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IsolatedSesame {
  /** A new temporary directory; the SQLite database lives in it. The caller removes it. */
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Only PATH and HOME are inherited: no SESAME_* of the runner's leaks in. Development mode on
 * 127.0.0.1, a fresh secret, warnings and worse logged; `extra` adds or overrides.
 */
export function isolatedSesameEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): IsolatedSesame {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: `file:${join(dataDir, 'sesame.db')}`,
    SESAME_SECRET: randomBytes(32).toString('base64url'),
    SESAME_LOG_LEVEL: 'warn',
    ...extra,
  };
  return { dataDir, env };
}
