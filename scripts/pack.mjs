#!/usr/bin/env node
/**
 * Packs the published packages (every packages/* whose package.json is not `private`) into
 * tarballs that install on their own, outside this repository.
 *
 * Why not `npm pack -w`: in the workspace the internal packages (@sesame/core, email, storage,
 * admin-ui: `private`, never published) are symlinks at the root, and npm does not put a
 * workspace's bundled dependencies in its tarball. So each published package is staged in a
 * temporary folder: its package.json rewritten for publication, what its `files` lists, README,
 * CHANGELOG, the repository's LICENSE, and a real copy of every internal package it needs at run
 * time (walking the dependency graph) under `node_modules/@sesame/<name>`, listed in
 * `bundleDependencies`. The external dependencies of those copies are hoisted into the published
 * package's `dependencies`, so npm installs them next to it. Published packages that depend on
 * each other keep a normal dependency. Then `npm pack` in the staged folder.
 *
 *   node scripts/pack.mjs [--out DIR]   (DIR defaults to tmp/packages, ignored by git)
 *
 * Prints `{"server": "/abs/…/sesame-server-0.1.0.tgz", …}` (keyed by name without the scope) on
 * stdout. Run it after `npm run build` (`npm run pack` does both).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');

/** Fields of a package.json that only make sense inside the repository. */
const WORKSPACE_ONLY = ['devDependencies', 'scripts', 'workspaces', 'private', 'allowScripts'];
/** Built files that do not run: source maps point at sources that are not shipped. */
const NOT_SHIPPED = /(\.map|\.tsbuildinfo|\.test\.[cm]?[jt]sx?|\.spec\.[cm]?[jt]sx?)$/;
const TEST_FOLDERS = new Set(['test', 'tests', '__tests__']);
const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every package under packages/, by name. */
function workspacePackages() {
  const byName = new Map();
  for (const entry of readdirSync(join(ROOT, 'packages'))) {
    const dir = join(ROOT, 'packages', entry);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = readJson(join(dir, 'package.json'));
    byName.set(pkg.name, { dir, pkg });
  }
  return byName;
}

/**
 * What publishing `root` takes: the internal packages it bundles (the transitive closure of its
 * runtime dependencies through internal packages) and the dependencies its tarball declares
 * (its own, plus those of the bundled packages, hoisted; the bundled ones at their exact version).
 */
function publicationPlan(root, packages) {
  const bundled = new Map();
  const dependencies = {};
  const origin = {};
  const declare = (name, range, from) => {
    if (dependencies[name] !== undefined && dependencies[name] !== range) {
      throw new Error(`${root.pkg.name}: ${name} is wanted as ${dependencies[name]} by ${origin[name]} and as ${range} by ${from}`);
    }
    dependencies[name] = range;
    origin[name] = from;
  };
  const visit = (pkg) => {
    for (const [name, range] of Object.entries(pkg.dependencies ?? {})) {
      const local = packages.get(name);
      if (local === undefined) {
        declare(name, range, pkg.name);
      } else if (local.pkg.private === true) {
        declare(name, local.pkg.version, pkg.name);
        if (!bundled.has(name)) {
          bundled.set(name, local);
          visit(local.pkg);
        }
      } else {
        // Another published package: installed from its own tarball or the registry.
        declare(name, range, pkg.name);
      }
    }
  };
  visit(root.pkg);
  return { bundled, dependencies: sortKeys(dependencies) };
}

function sortKeys(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}

function withoutWorkspaceFields(pkg) {
  return Object.fromEntries(Object.entries(pkg).filter(([field]) => !WORKSPACE_ONLY.includes(field)));
}

/**
 * For a package tsc compiles (`rootDir` to `outDir`): whether a file of the output still has its
 * source. `tsc -b` never deletes the output of a removed source file, and that must not ship.
 */
function builtFromCurrentSources(pkgDir) {
  let options;
  try {
    options = readJson(join(pkgDir, 'tsconfig.json')).compilerOptions ?? {};
  } catch {
    return () => true;
  }
  if (options.noEmit === true || options.outDir === undefined || options.rootDir === undefined) return () => true;
  const outDir = resolve(pkgDir, options.outDir);
  const rootDir = resolve(pkgDir, options.rootDir);
  return (file) => {
    const inOutput = relative(outDir, file);
    if (inOutput.startsWith('..') || isAbsolute(inOutput) || statSync(file).isDirectory()) return true;
    const stem = inOutput.replace(/(\.d\.[cm]?ts|\.[cm]?js)(\.map)?$/, '');
    if (stem === inOutput) return true;
    return SOURCE_EXTENSIONS.some((extension) => existsSync(join(rootDir, stem + extension)));
  };
}

/** Copies what a package's `files` lists (and its README / CHANGELOG), without what does not run. */
function copyShipped(fromDir, toDir, pkg) {
  mkdirSync(toDir, { recursive: true });
  const current = builtFromCurrentSources(fromDir);
  const entries = new Set([...(pkg.files ?? []), 'README.md', 'CHANGELOG.md']);
  for (const entry of entries) {
    if (/^[./]|\.\./.test(entry) || entry.includes('*')) throw new Error(`${pkg.name}: unsupported "files" entry ${entry}`);
    const from = join(fromDir, entry);
    if (!existsSync(from)) {
      if ((pkg.files ?? []).includes(entry)) throw new Error(`${pkg.name}: ${from} is missing (run \`npm run build\` first)`);
      continue;
    }
    cpSync(from, join(toDir, entry), {
      recursive: true,
      dereference: true,
      filter: (source) => !NOT_SHIPPED.test(source) && !TEST_FOLDERS.has(basename(source)) && current(source),
    });
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The module specifiers a compiled ES module imports or re-exports, static or dynamic. */
function specifiersOf(code) {
  const found = [];
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) found.push(match[1]);
  return found;
}

/** A module's stem: its path without the `.js` / `.d.ts` ending both outputs of one source share. */
const stemOf = (file) => file.replace(/(\.d\.[cm]?ts|\.[cm]?js)$/, '');

/**
 * A bundled copy ships what its `exports` reach, and nothing that cannot load. Its optional peer
 * dependencies are never installed next to it (the published package does not declare them), so
 * its modules importing one are left out, with every module importing those and the exports
 * pointing at them (e.g. a test suite meant for the package's own tests); then every module no
 * remaining export reaches (through the imports of its `.js` or its `.d.ts`). A wildcard export
 * keeps the whole folder. Returns the copy's package.json without the left-out exports and peers.
 */
function pruneBundledCopy(dir, copy, provided) {
  const meta = copy.peerDependenciesMeta ?? {};
  const absent = Object.keys(copy.peerDependencies ?? {}).filter((name) => meta[name]?.optional === true && provided[name] === undefined);
  const modules = filesUnder(dir).filter((file) => /(\.d\.[cm]?ts|\.[cm]?js)$/.test(file));
  /** Relative imports of each stem (from its .js and .d.ts), resolved to stems; and its bare imports. */
  const edges = new Map();
  const bare = new Map();
  for (const file of modules) {
    const stem = stemOf(file);
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) edges.set(stem, [...(edges.get(stem) ?? []), stemOf(resolve(dirname(file), specifier))]);
      else bare.set(stem, [...(bare.get(stem) ?? []), specifier]);
    }
  }
  const needsAbsent = (specifier) => absent.some((name) => specifier === name || specifier.startsWith(`${name}/`));
  const dead = new Set();
  for (let grew = true; grew;) {
    grew = false;
    for (const stem of new Set(modules.map(stemOf))) {
      if (dead.has(stem)) continue;
      if ((bare.get(stem) ?? []).some(needsAbsent) || (edges.get(stem) ?? []).some((to) => dead.has(to))) {
        dead.add(stem);
        grew = true;
      }
    }
  }
  const exportsLeft = {};
  const roots = [];
  let wildcard = false;
  for (const [subpath, target] of Object.entries(copy.exports ?? {})) {
    const targets = (typeof target === 'string' ? [target] : Object.values(target)).filter((t) => typeof t === 'string');
    if (targets.some((t) => dead.has(stemOf(resolve(dir, t))))) {
      if (subpath === '.') throw new Error(`${copy.name}: its main entry needs ${absent.join(', ')}, which is not installed with it`);
      continue;
    }
    exportsLeft[subpath] = target;
    wildcard ||= targets.some((t) => t.includes('*'));
    roots.push(...targets.map((t) => stemOf(resolve(dir, t))));
  }
  const reached = new Set();
  for (const stack = [...roots]; stack.length > 0;) {
    const stem = stack.pop();
    if (reached.has(stem)) continue;
    reached.add(stem);
    stack.push(...(edges.get(stem) ?? []));
  }
  for (const file of modules) {
    const stem = stemOf(file);
    if (dead.has(stem) || (!wildcard && !reached.has(stem))) rmSync(file, { force: true });
  }
  const keep = ([name]) => !absent.includes(name);
  const pruned = {
    ...copy,
    exports: exportsLeft,
    peerDependencies: Object.fromEntries(Object.entries(copy.peerDependencies ?? {}).filter(keep)),
    peerDependenciesMeta: Object.fromEntries(Object.entries(meta).filter(keep)),
  };
  return Object.fromEntries(Object.entries(pruned).filter(([, value]) => typeof value !== 'object' || Object.keys(value).length > 0));
}

/** A package.json of a tarball must not point into this repository or at another folder. */
function assertSelfContained(pkg) {
  const text = JSON.stringify(pkg);
  for (const bad of ['../', 'file:', 'link:', 'workspace:', ROOT]) {
    if (text.includes(bad)) throw new Error(`${pkg.name}: its package.json for publication contains ${JSON.stringify(bad)}`);
  }
}

/** The environment of the `npm pack` child: none of the npm variables of a parent `npm run`. */
function npmEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/i.test(key) || /^npm_config_(local_)?prefix$/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return env;
}

function stage(root, packages, stagingDir) {
  const { bundled, dependencies } = publicationPlan(root, packages);
  const pkg = withoutWorkspaceFields(root.pkg);
  pkg.dependencies = dependencies;
  if (Object.keys(dependencies).length === 0) delete pkg.dependencies;
  if (bundled.size > 0) pkg.bundleDependencies = [...bundled.keys()].sort();
  assertSelfContained(pkg);
  copyShipped(root.dir, stagingDir, root.pkg);
  cpSync(join(ROOT, 'LICENSE'), join(stagingDir, 'LICENSE'));
  writeFileSync(join(stagingDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const [name, local] of bundled) {
    const target = join(stagingDir, 'node_modules', ...name.split('/'));
    copyShipped(local.dir, target, local.pkg);
    const copy = pruneBundledCopy(target, withoutWorkspaceFields(local.pkg), dependencies);
    assertSelfContained(copy);
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(copy, null, 2)}\n`);
  }
}

function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = resolve(values.out ?? join(ROOT, 'tmp', 'packages'));
  mkdirSync(out, { recursive: true });
  const packages = workspacePackages();
  const published = [...packages.values()].filter((local) => local.pkg.private !== true);
  const tarballs = {};
  for (const root of published) {
    const stagingDir = mkdtempSync(join(tmpdir(), 'sesame-pack-'));
    try {
      stage(root, packages, stagingDir);
      const report = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
        cwd: stagingDir,
        env: npmEnv(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 120_000,
      });
      const [packed] = JSON.parse(report);
      tarballs[root.pkg.name.replace(/^@[^/]+\//, '')] = join(out, packed.filename);
    } finally {
      rmSync(stagingDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${JSON.stringify(tarballs, null, 2)}\n`);
}

main();
