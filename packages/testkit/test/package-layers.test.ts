/**
 * Imports between Sesame's packages go one way (docs/ARCHITECTURE.md "Package layers"): each
 * package's runtime dependencies and the `@sesame/*` imports of its sources stay within the
 * packages it may import. Tests may import anything (they are not shipped); the dashboard may
 * import the server's wire types, type-only, as they vanish from its bundle.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

/** What each package's sources may import at run time. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  '@sesame/core': [],
  '@sesame/client': [],
  '@sesame/storage': ['@sesame/core'],
  '@sesame/email': ['@sesame/core'],
  // admin-ui: the dashboard's built files, which the server serves at /admin (no code of it runs there).
  '@sesame/server': ['@sesame/core', '@sesame/storage', '@sesame/email', '@sesame/admin-ui'],
  '@sesame/nextjs': ['@sesame/client', '@sesame/core'],
  '@sesame/admin-ui': [],
  '@sesame/testkit': [],
  '@sesame/example-next': ['@sesame/nextjs'],
};
/** Type-only imports allowed on top of MAY_IMPORT. */
const MAY_IMPORT_TYPES: Readonly<Record<string, readonly string[]>> = {
  '@sesame/admin-ui': ['@sesame/server'],
};

const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;
const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"](@sesame\/[a-z-]+)[^'"]*['"]/gm;
const DYNAMIC_IMPORT = /import\(\s*['"](@sesame\/[a-z-]+)[^'"]*['"]\s*\)/g;

interface LayerViolation {
  readonly where: string;
  readonly imports: string;
}

/** The `@sesame/*` imports in one source text that `name` may not make. */
function importViolations(name: string, where: string, text: string): LayerViolation[] {
  const allowed = new Set(MAY_IMPORT[name] ?? []);
  const typesAllowed = new Set([...allowed, ...(MAY_IMPORT_TYPES[name] ?? [])]);
  const found: LayerViolation[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const target = m[3]!;
    const typeOnly = m[2] !== undefined;
    if (target === name || (typeOnly ? typesAllowed : allowed).has(target)) continue;
    found.push({ where, imports: target });
  }
  for (const m of text.matchAll(DYNAMIC_IMPORT)) {
    if (m[1] !== name && !allowed.has(m[1]!)) found.push({ where, imports: m[1]! });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry === '.next') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE.test(entry)) out.push(path);
  }
  return out;
}

function workspaces(): { name: string; dir: string; dependencies: string[] }[] {
  return ['packages', 'apps'].flatMap((folder) =>
    readdirSync(join(ROOT, folder)).map((entry) => {
      const dir = join(ROOT, folder, entry);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
      return { name: pkg.name, dir, dependencies: Object.keys(pkg.dependencies ?? {}) };
    }),
  );
}

describe('package layers', () => {
  it('knows every workspace package', () => {
    expect(
      workspaces()
        .map((w) => w.name)
        .sort(),
    ).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it('declares as runtime dependencies only the Sesame packages each may import', () => {
    const wrong = workspaces().flatMap((w) =>
      w.dependencies.filter((d) => d.startsWith('@sesame/') && !(MAY_IMPORT[w.name] ?? []).includes(d)).map((d) => `${w.name} → ${d}`),
    );
    expect(wrong).toEqual([]);
  });

  it('imports in each package’s sources only what the package may import', () => {
    const violations = workspaces().flatMap((w) => {
      const src = join(w.dir, 'src');
      let files: string[];
      try {
        files = sourceFiles(src);
      } catch {
        return [];
      }
      return files.flatMap((file) => importViolations(w.name, relative(ROOT, file), readFileSync(file, 'utf8')));
    });
    expect(violations).toEqual([]);
  });

  it('catches an import against the layers, a value import of types-only, and a dynamic import', () => {
    expect(importViolations('@sesame/core', 'a.ts', "import { openSqliteStore } from '@sesame/storage';")).toHaveLength(1);
    expect(importViolations('@sesame/email', 'b.ts', "export { createApp } from '@sesame/server';")).toHaveLength(1);
    expect(importViolations('@sesame/admin-ui', 'c.ts', "import { createApp } from '@sesame/server';")).toHaveLength(1);
    expect(importViolations('@sesame/admin-ui', 'd.ts', "import type * as AdminWire from '@sesame/server';")).toEqual([]);
    expect(importViolations('@sesame/storage', 'e.ts', "const m = await import('@sesame/email');")).toHaveLength(1);
    expect(importViolations('@sesame/server', 'f.ts', "import { SesameError } from '@sesame/core';")).toEqual([]);
  });
});
