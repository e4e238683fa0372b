/**
 * Every relative link in the README, CONTRIBUTING.md, docs/, bench/README.md and the packages',
 * apps' and examples' READMEs names a file that exists in the repository, and every `#anchor` into a
 * Markdown file names one of its headings.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

function markdownFiles(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md', 'bench/README.md'].map((file) => join(ROOT, file));
  files.push(
    ...readdirSync(join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => join(ROOT, 'docs', name)),
  );
  for (const folder of ['packages', 'apps', 'examples']) {
    for (const name of readdirSync(join(ROOT, folder))) {
      const readme = join(ROOT, folder, name, 'README.md');
      if (existsSync(readme)) files.push(readme);
    }
  }
  return files;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

/** Relative link targets of a Markdown file, outside code blocks. */
function linksIn(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^(?:[a-z]+:|\/\/)/i.test(target));
}

describe('documentation links', () => {
  const files = markdownFiles();

  it('reads the README, CONTRIBUTING.md and docs/', () => {
    expect(files.map((file) => relative(ROOT, file))).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/SECURITY.md']));
  });

  it.each(files.map((file) => [relative(ROOT, file), file]))('every relative link of %s resolves', (_name, file) => {
    const broken: string[] = [];
    for (const target of linksIn(file)) {
      const [path = '', anchor] = target.split('#');
      const linked = path === '' ? file : resolve(dirname(file), decodeURI(path));
      if (!existsSync(linked)) {
        broken.push(`${target} (no such file)`);
      } else if (anchor !== undefined && anchor !== '' && linked.endsWith('.md') && !anchorsIn(linked).has(anchor)) {
        broken.push(`${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
