/**
 * An app as a README describes it: the code blocks whose first line names a path
 * (`// src/lib/auth.ts`, optionally `(Next.js 16)` after it), the `npm install` lines of one
 * section (a block whose first line is `# Next.js 15.5` is for that major only), and the variable
 * names of the block that starts `# .env.local`. Tests write exactly
 * these files into an empty folder, so a README that leaves out a step makes its test fail.
 */

export interface ReadmeBlock {
  readonly lang: string;
  /** The block's text, first line included, ending in a newline. */
  readonly text: string;
}

export interface ReadmeApp {
  /** Path (relative to the app) → content, for the chosen Next.js major. */
  readonly files: ReadonlyMap<string, string>;
  /** Package specs of the section's `npm install` lines without `--save-dev`, in order. */
  readonly dependencies: readonly string[];
  /** Package specs of its `npm install --save-dev` (or `-D`) lines. */
  readonly devDependencies: readonly string[];
  /** The names set in the `# .env.local` block. */
  readonly envKeys: readonly string[];
}

/** Fenced blocks that start at the beginning of a line (blocks indented in lists are examples). */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const fence = /^```([\w-]*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(markdown); match !== null; match = fence.exec(markdown)) {
    blocks.push({ lang: match[1] ?? '', text: match[2] ?? '' });
  }
  return blocks;
}

/** The text from the `## title` heading up to the next heading of the same level. */
export function readmeSection(markdown: string, title: string): string {
  const start = markdown.search(new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm'));
  if (start < 0) throw new Error(`the README has no "## ${title}" section`);
  const rest = markdown.slice(start + 3);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

const PATH_LINE = /^\/\/ ([\w@.-]+(?:\/[\w@.[\]()-]+)*\.\w+)(.*)$/;
const VERSION_TAG = /^(?:\/\/|#) .*\bNext\.js (\d+)/;

/** The Next.js major a block is for, when its first line (a comment) names one: `(Next.js 16)`, `# Next.js 15.5`. */
export function blockMajor(block: ReadmeBlock): number | undefined {
  const tag = VERSION_TAG.exec(block.text.split('\n', 1)[0] ?? '');
  return tag ? Number(tag[1]) : undefined;
}

/** A block's path and the Next.js major it is for (undefined: every major), if its first line names a path. */
export function blockPath(block: ReadmeBlock): { path: string; major: number | undefined } | undefined {
  const match = PATH_LINE.exec(block.text.split('\n', 1)[0] ?? '');
  return match ? { path: match[1]!, major: blockMajor(block) } : undefined;
}

const forMajor = (block: ReadmeBlock, major: number): boolean => {
  const tagged = blockMajor(block);
  return tagged === undefined || tagged === major;
};

function installSpecs(section: string, major: number): { dependencies: string[]; devDependencies: string[] } {
  const dependencies: string[] = [];
  const devDependencies: string[] = [];
  for (const block of readmeBlocks(section).filter((b) => (b.lang === 'sh' || b.lang === 'bash') && forMajor(b, major))) {
    for (const line of block.text.split('\n')) {
      const words = line.replace(/#.*$/, '').trim().split(/\s+/);
      if (words[0] !== 'npm' || (words[1] !== 'install' && words[1] !== 'i')) continue;
      const dev = words.includes('--save-dev') || words.includes('-D');
      const specs = words.slice(2).filter((word) => !word.startsWith('-'));
      (dev ? devDependencies : dependencies).push(...specs);
    }
  }
  return { dependencies, devDependencies };
}

function envKeys(markdown: string): string[] {
  const block = readmeBlocks(markdown).find((b) => /^# \.env\.local\s*$/.test(b.text.split('\n', 1)[0] ?? ''));
  if (!block) throw new Error('the README has no block starting "# .env.local"');
  return block.text
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((key): key is string => key !== undefined);
}

/**
 * The app the README's `section` describes for Next.js `major`: every path-named block of the
 * section that is for all majors or for this one. Two blocks for one path and major is an error
 * (the reader could not tell which to use).
 */
export function readmeApp(markdown: string, options: { readonly section: string; readonly major: number }): ReadmeApp {
  const section = readmeSection(markdown, options.section);
  const files = new Map<string, string>();
  for (const block of readmeBlocks(section)) {
    const named = blockPath(block);
    if (!named || !forMajor(block, options.major)) continue;
    if (files.has(named.path)) throw new Error(`the README gives ${named.path} twice for Next.js ${options.major}`);
    files.set(named.path, block.text);
  }
  return { files, ...installSpecs(section, options.major), envKeys: envKeys(markdown) };
}
