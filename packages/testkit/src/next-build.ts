/**
 * The lines of a `next build` output that Next.js marks as warnings or deprecations. One notice
 * is about the machine, not the app: under CI (`CI=true`), a first build says that no build cache
 * was found, and so it is not counted.
 */
const NOT_ABOUT_THE_APP = [/No build cache found/];

export function nextBuildWarnings(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /⚠|\bwarn(ing)?\b|deprecated/i.test(line))
    .filter((line) => !NOT_ABOUT_THE_APP.some((pattern) => pattern.test(line)));
}
