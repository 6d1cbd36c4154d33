/**
 * What -hh and the man page list, read back from their text (not from the table they are
 * rendered from), so that the two can be compared as a user would see them.
 */
export interface Listing {
  /** Option spellings: '-b', '--workers', 'expression'. */
  options: Set<string>;
  /** -S parameter names. */
  params: Set<string>;
  /** -F letters. */
  letters: Set<string>;
  /** Template escapes, as listed ('%A/%a'). */
  escapes: Set<string>;
  /** Exit statuses, as listed ('130/143'). */
  statuses: Set<string>;
}

type Kind = keyof Listing | null;

/** One entry's tag ("-v, --verbose", "-S tdelta=0", "%A/%a", "141") into the listing. */
function add(listing: Listing, kind: Kind, tag: string): void {
  if (kind === 'options') {
    for (const spelled of tag.split(', ')) listing.options.add(spelled.split(' ')[0]);
  } else if (kind === 'params') {
    const m = /^-S ([^=]+)=/.exec(tag);
    if (m) listing.params.add(m[1]);
  } else if (kind === 'letters') {
    const m = /^-F(.)$/.exec(tag);
    if (m) listing.letters.add(m[1]);
  } else if (kind === 'escapes') {
    if (tag.startsWith('%')) listing.escapes.add(tag);
  } else if (kind === 'statuses') {
    listing.statuses.add(tag);
  }
}

function empty(): Listing {
  return { options: new Set(), params: new Set(), letters: new Set(), escapes: new Set(), statuses: new Set() };
}

/** -hh: entries are lines indented by 3, their tag ending at two spaces; sections are titled `...:` lines. */
export function helpListing(text: string): Listing {
  const listing = empty();
  let kind: Kind = null;
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) {
      kind = /^Parameters/.test(line) ? 'params' : /^File name prefixes/.test(line) ? 'letters'
        : /^File name template/.test(line) ? 'escapes' : /^Exit status/.test(line) ? 'statuses'
        : /^Scanners|^Subcommands/.test(line) ? null : 'options';
      continue;
    }
    const m = /^ {3}(\S(?:\S| (?! ))*)/.exec(line);
    if (m && kind !== null) add(listing, kind, m[1]);
  }
  return listing;
}

/** troff text of a tag line as it reads: fonts dropped, escapes resolved. */
function plain(troff: string): string {
  return troff.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-').replace(/\\ /g, ' ').replace(/\\e/g, '\\').replace(/\\&/g, '');
}

/** The man page: entries are `.TP` paragraphs, whose tag is the next line; sections are .SH/.SS. */
export function manListing(troff: string): Listing {
  const listing = empty();
  let kind: Kind = null;
  const lines = troff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const sh = /^\.SH (.*)/.exec(lines[i]);
    if (sh) {
      const title = sh[1].replace(/"/g, '');
      kind = title === 'OPTIONS' ? 'options' : title === 'PARAMETERS' ? 'params' : title === 'FILE NAMES' ? 'letters'
        : title === 'EXIT STATUS' ? 'statuses' : null;
      continue;
    }
    if (lines[i] === '.TP' && i + 1 < lines.length) {
      const tag = plain(lines[i + 1]);
      // FILE NAMES lists -F letters, then template escapes.
      add(listing, kind === 'letters' && tag.startsWith('%') ? 'escapes' : kind, tag);
    }
  }
  return listing;
}
