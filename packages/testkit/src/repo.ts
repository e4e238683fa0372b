/** Where the repository and the `sesame` launcher are (this file runs from packages/testkit/dist). */
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
/** The root launcher: what `npx sesame` runs. */
export const SESAME_BIN = join(REPO_ROOT, 'bin', 'sesame.js');
