/**
 * Invisible and direction-changing characters (soft hyphen, zero-width, bidi controls and
 * isolates, variation selector, BOM, a tag character) that Sesame refuses both in an email
 * address and in a magic link URI: a reader cannot see them, yet they change the text.
 */
export const INVISIBLE_CHARACTERS: readonly string[] = [
  '\u00ad',
  '\u034f',
  '\u061c',
  '\u115f',
  '\u180e',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2060',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\ufe0f',
  '\ufeff',
  '\u{e0041}',
];
