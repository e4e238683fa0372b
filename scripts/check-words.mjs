#!/usr/bin/env node
// Keeps words about how the project is made (tracker numbers, working notes, the maintainers'
// own machines, design files that live elsewhere) out of everything a user reads or a
// maintainer inherits. The words are one case-insensitive regular expression per line in
// scripts/forbidden-words.txt, the only file allowed to hold them.
//
// Scans every file git knows of (tracked, plus untracked files that are not ignored, so a new
// file is checked before it is added), and every such file's path, except the word list,
// package-lock.json and binary files. Prints `file:line: match` for each hit and exits 1 on any.
//
// Usage: node scripts/check-words.mjs [--root DIR]   (DIR defaults to the current directory's repository)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const WORDS_FILE = 'scripts/forbidden-words.txt';
const SKIPPED = new Set([WORDS_FILE, 'package-lock.json']);
const BINARY_EXTENSIONS = /\.(png|jpe?g|gif|webp|ico|bmp|woff2?|ttf|otf|eot|pdf|zip|gz|tgz|wasm|sqlite|db)$/i;

/** The forbidden patterns of a word list's text: blank lines and `#` comments ignored. */
export function parseWords(text) {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((source) => new RegExp(source, 'gi'));
}

/** Every file of the repository at `root` that git lists (tracked, or untracked and not ignored). */
export function listFiles(root) {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 64 << 20 });
  return [...new Set(out.toString('utf8').split('\0').filter(Boolean))].sort();
}

function isBinary(bytes) {
  return bytes.subarray(0, 8000).includes(0);
}

function matchesIn(text, patterns) {
  const found = [];
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    for (const m of text.matchAll(pattern)) found.push(m[0]);
  }
  return found;
}

/**
 * The hits under `root`: `{ file, line, match }`, `line` 0 for a hit in the file's path.
 * `files` (paths relative to root) defaults to what git lists; `words` to root's word list.
 */
export function checkWords({ root, files = listFiles(root), words = readFileSync(path.join(root, WORDS_FILE), 'utf8') }) {
  const patterns = parseWords(words);
  const hits = [];
  for (const file of files) {
    const name = file.split(path.sep).join('/');
    if (SKIPPED.has(name)) continue;
    let bytes;
    try {
      bytes = readFileSync(path.join(root, file));
    } catch (error) {
      if (error.code === 'ENOENT' || error.code === 'EISDIR') continue; // deleted but not yet staged, or a submodule
      throw error;
    }
    for (const match of matchesIn(name, patterns)) hits.push({ file: name, line: 0, match });
    if (BINARY_EXTENSIONS.test(name) || isBinary(bytes)) continue;
    const lines = bytes.toString('utf8').split('\n');
    lines.forEach((text, index) => {
      for (const match of matchesIn(text, patterns)) hits.push({ file: name, line: index + 1, match });
    });
  }
  return hits;
}

function main(argv) {
  const at = argv.indexOf('--root');
  const start = at >= 0 ? path.resolve(argv[at + 1] ?? '.') : process.cwd();
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: start }).toString('utf8').trim();
  const hits = checkWords({ root });
  for (const hit of hits) console.log(`${hit.file}:${hit.line === 0 ? '(path)' : hit.line}: ${hit.match}`);
  if (hits.length > 0) {
    console.error(`check-words: ${hits.length} forbidden word(s); name what the thing does instead (list: ${WORDS_FILE})`);
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
