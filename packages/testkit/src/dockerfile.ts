/**
 * Reads the repository's Dockerfile, so a test can perform its steps outside a container (no
 * container engine runs in CI) and fail when the file changes under it. Covers what that file
 * uses: stages, line continuations, comments, ENV `K=V` pairs, exec-form (JSON) CMD and
 * HEALTHCHECK, and the words of a RUN's `&&`-joined commands. Not a full Dockerfile parser:
 * no variable expansion, heredocs or escape directives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo.js';

export interface DockerInstruction {
  /** Upper case: `RUN`, `ENV`, … */
  readonly keyword: string;
  /** The rest of the instruction, continuations joined by a space. */
  readonly args: string;
  /** 1-based line where it starts. */
  readonly line: number;
  /** The WORKDIR in effect when it runs (`/` before any). */
  readonly workdir: string;
}

export interface DockerStage {
  /** The image of its FROM. */
  readonly base: string;
  /** Its `AS` name, if any. */
  readonly name: string | undefined;
  readonly instructions: readonly DockerInstruction[];
}

/** The stages of a Dockerfile, in order; throws on an instruction before the first FROM. */
export function parseDockerfile(text: string): DockerStage[] {
  const stages: { base: string; name: string | undefined; instructions: DockerInstruction[] }[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const first = lines[index]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = index + 1;
    let logical = first;
    while (logical.endsWith('\\') && index + 1 < lines.length) {
      logical = logical.slice(0, -1).trimEnd();
      const next = lines[++index]!.trim();
      // Comment lines inside a continued instruction are dropped by Docker too.
      if (!next.startsWith('#')) logical = `${logical} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(logical)!;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!;
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (from === null) throw new Error(`Dockerfile line ${start}: cannot read FROM ${args}`);
      stages.push({ base: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') continue;
      throw new Error(`Dockerfile line ${start}: ${keyword} before the first FROM`);
    }
    const previous = stage.instructions.at(-1)?.workdir ?? '/';
    const workdir = keyword === 'WORKDIR' ? (args.startsWith('/') ? args : join(previous, args)) : previous;
    stage.instructions.push({ keyword, args, line: start, workdir });
  }
  return stages;
}

/** The repository's Dockerfile (or `path`), parsed. */
export function readDockerfile(path = join(REPO_ROOT, 'Dockerfile')): DockerStage[] {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

export function instructionsOf(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The argument of the stage's last `keyword` (USER, STOPSIGNAL, WORKDIR…), or undefined. */
export function lastArgs(stage: DockerStage, keyword: string): string | undefined {
  return instructionsOf(stage, keyword).at(-1)?.args;
}

/** The variables the stage's ENV instructions set (`K=V` pairs, values optionally double-quoted). */
export function stageEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args, line } of instructionsOf(stage, 'ENV')) {
    const pairs = [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)];
    if (pairs.length === 0) throw new Error(`Dockerfile line ${line}: ENV without K=V pairs: ${args}`);
    for (const [, key, raw] of pairs) env[key!] = raw!.startsWith('"') ? (JSON.parse(raw!) as string) : raw!;
  }
  return env;
}

/** An exec-form argument list (`["node", "-e", "…"]`); throws for the shell form. */
export function execForm(args: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${what} is not in exec form (a JSON array): ${args}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`${what} is not a non-empty JSON array of strings: ${args}`);
  }
  return parsed;
}

export interface Healthcheck {
  /** `--interval=30s` and the like, by name without dashes. */
  readonly options: Readonly<Record<string, string>>;
  /** The exec-form command. */
  readonly command: readonly string[];
}

/** The stage's HEALTHCHECK, undefined when it has none or `HEALTHCHECK NONE`. */
export function healthcheckOf(stage: DockerStage): Healthcheck | undefined {
  const args = lastArgs(stage, 'HEALTHCHECK');
  if (args === undefined || args.trim().toUpperCase() === 'NONE') return undefined;
  const match = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$/.exec(args);
  if (match === null) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  const options = Object.fromEntries([...match[1]!.matchAll(/--([a-z-]+)=(\S+)/g)].map(([, key, value]) => [key!, value!]));
  return { options, command: execForm(match[2]!, 'HEALTHCHECK CMD') };
}

/** The commands of a shell-form RUN, split on `&&` and `;`, each as its words (no quoting used). */
export function runCommands(args: string): string[][] {
  return args
    .split(/&&|;/)
    .map((command) =>
      command
        .trim()
        .split(/\s+/)
        .filter((word) => word !== ''),
    )
    .filter((words) => words.length > 0);
}

export interface NpmInstallStep {
  readonly stage: DockerStage;
  readonly instruction: DockerInstruction;
  /** `npm install …` or `npm ci …`, word by word. */
  readonly words: readonly string[];
  /** Its `--flags`. */
  readonly flags: readonly string[];
  /** The tarball argument (a path or glob ending in .tgz). */
  readonly tarball: string;
}

/** The one RUN step that installs a packed tarball with npm; throws unless there is exactly one. */
export function npmTarballInstall(stages: readonly DockerStage[]): NpmInstallStep {
  const found: NpmInstallStep[] = [];
  for (const stage of stages) {
    for (const instruction of instructionsOf(stage, 'RUN')) {
      for (const words of runCommands(instruction.args)) {
        if (words[0] !== 'npm' || !['install', 'i', 'ci'].includes(words[1] ?? '')) continue;
        const tarball = words.find((word) => word.endsWith('.tgz'));
        if (tarball === undefined) continue;
        found.push({ stage, instruction, words, flags: words.filter((word) => word.startsWith('--')), tarball });
      }
    }
  }
  if (found.length !== 1) throw new Error(`expected one RUN that npm-installs a .tgz, found ${found.length}`);
  return found[0]!;
}

/**
 * `path` of the image, inside `imageDir`, as a path under `localDir` (e.g. /app/node_modules/…
 * with /app as WORKDIR and the outside install folder as localDir); other paths unchanged.
 */
export function relocate(path: string, imageDir: string, localDir: string): string {
  const prefix = imageDir.endsWith('/') ? imageDir : `${imageDir}/`;
  return path === imageDir ? localDir : path.startsWith(prefix) ? join(localDir, path.slice(prefix.length)) : path;
}
