/**
 * scripts/check-words.mjs, the part of `npm run lint` that keeps words about how the project is
 * made out of the repository: run as lint runs it, in a throwaway git repository holding the
 * script and the real word list. Clean text passes; one planted word fails with its file, line
 * and match; the word list itself, package-lock.json, binary files and ignored files are not read.
 * The planted words are assembled at run time so this file does not trip the check itself.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const word = (...parts: string[]) => parts.join('');

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-check-words-'));
  execFileSync('git', ['init', '-q'], { cwd: dir });
  mkdirSync(join(dir, 'scripts'));
  for (const file of ['scripts/check-words.mjs', 'scripts/forbidden-words.txt']) copyFileSync(join(ROOT, file), join(dir, file));
  writeFileSync(join(dir, 'README.md'), '# Sesame\n\nSelf-hosted passwordless sign-in: magic links with an OTP fallback.\n');
  writeFileSync(join(dir, 'notes.ts'), '// The sweeper deletes expired auth requests; a seeded generator makes runs repeatable.\n');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function check(): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['scripts/check-words.mjs'], { cwd: dir }, (error, stdout) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout });
    });
  });
}

describe('check-words', () => {
  it('passes on clean text, then fails once a forbidden word is planted, naming file, line and match', async () => {
    expect(await check()).toEqual({ code: 0, stdout: '' });

    const planted = word('iss', 'ue 12');
    writeFileSync(join(dir, 'notes.ts'), `// The sweeper deletes expired auth requests.\n// Added for ${planted}.\n`);
    const failed = await check();
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe(`notes.ts:2: ${planted.slice(0, -1)}\n`);
  });

  it('matches case-insensitively, in any text file and in file names', async () => {
    const list = readFileSync(join(ROOT, 'scripts/forbidden-words.txt'), 'utf8');
    const patterns = list
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns.length).toBeGreaterThan(5);
    const samples = [word('ISS', 'UE 3'), word('the ', 'seed'), word('this ', 'session'), word('must ', 'show'), word('DESIGN', '.md')];
    writeFileSync(join(dir, 'page.html'), samples.map((s) => `<p>${s}</p>`).join('\n') + '\n');
    writeFileSync(join(dir, word('seed', '-calls.mjs')), 'export {};\n');
    const { code, stdout } = await check();
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(samples.length + 1);
    for (const [i, s] of samples.entries()) expect(lines).toContain(`page.html:${i + 1}: ${s}`);
    expect(lines).toContain(`${word('seed', '-calls.mjs')}:(path): ${word('seed', '-calls')}`);
  });

  it('does not read the word list, package-lock.json, binary files or ignored files', async () => {
    const planted = word('hand', '-off');
    writeFileSync(join(dir, 'package-lock.json'), `{ "name": "${planted}" }\n`);
    writeFileSync(join(dir, 'shot.png'), Buffer.from(`\x89PNG\r\n${planted}`, 'latin1'));
    writeFileSync(join(dir, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(planted)]));
    writeFileSync(join(dir, '.gitignore'), 'dist/\n');
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'out.js'), `// ${planted}\n`);
    expect(await check()).toEqual({ code: 0, stdout: '' });
  });
});
