/**
 * Rules every user-supplied string of the stores API obeys, shared by the backend, the
 * scaffolder action and forms. PostgreSQL refuses NUL in text while SQLite stores it, so
 * control characters are refused before they reach a database: the same 400 on both.
 */

/**
 * Longest user or group entity ref: `group:` + namespace (63) + `/` + name (63).
 *
 * @public
 */
export const ENTITY_REF_MAX_LENGTH = 140;
/**
 * The longest store description, in characters.
 *
 * @public
 */
export const STORE_DESCRIPTION_MAX_LENGTH = 500;
/**
 * The longest display name of a store, in characters.
 *
 * @public
 */
export const STORE_DISPLAY_NAME_MAX_LENGTH = 100;
/**
 * Raw store name before normalisation; the normalised name is shorter still.
 *
 * @public
 */
export const STORE_NAME_INPUT_MAX_LENGTH = 100;
/**
 * Plan and engine names.
 *
 * @public
 */
export const KEY_MAX_LENGTH = 63;

// C0 controls (NUL included), DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// The same, except tab and newline, which a description may keep.
const CONTROL_CHARACTER_EXCEPT_TAB_NEWLINE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
// Invisible bidirectional overrides make text read differently from what it is.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

function codePoint(char: string): string {
  return `U+${char
    .codePointAt(0)!
    .toString(16)
    .toUpperCase()
    .padStart(4, '0')}`;
}

/**
 * What is wrong with a user-supplied string, in plain words, or undefined when it is clean.
 * `multiline` allows tab and newline (descriptions).
 *
 * @public
 */
export function textProblem(
  value: string,
  options: { maxLength: number; multiline?: boolean },
): string | undefined {
  if (value.length > options.maxLength) {
    return `must be at most ${options.maxLength} characters long (got ${value.length})`;
  }
  const control = (
    options.multiline ? CONTROL_CHARACTER_EXCEPT_TAB_NEWLINE : CONTROL_CHARACTER
  ).exec(value);
  if (control) {
    return `must not contain control characters (found ${codePoint(
      control[0],
    )} at position ${control.index + 1})${
      options.multiline ? '; only tabs and line breaks are allowed' : ''
    }`;
  }
  const bidi = BIDI_CONTROL.exec(value);
  if (bidi) {
    return `must not contain invisible text-direction characters (found ${codePoint(
      bidi[0],
    )} at position ${bidi.index + 1})`;
  }
  return undefined;
}

// Every ASCII punctuation character can be backslash-escaped in CommonMark; escaping them all
// leaves no link, image, HTML, emphasis or code to render.
const MARKDOWN_PUNCTUATION = /[!-/:-@[-`{-~]/g;
// GFM turns URL-like text into links after escapes are resolved (`https://…`, `www.…`,
// `a@b.c`), so an invisible word joiner goes where those patterns would match.
const WORD_JOINER = '\u2060';

/**
 * Text that renders as itself when shown as Markdown (the catalog's About card renders an
 * entity's description as Markdown): users' descriptions never become links or images.
 *
 * @public
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/:(?=\/\/)/g, `:${WORD_JOINER}`)
    .replace(/\b(www)(?=\.)/gi, `$1${WORD_JOINER}`)
    .replace(/@/g, `${WORD_JOINER}@`)
    .replace(MARKDOWN_PUNCTUATION, char => `\\${char}`);
}
