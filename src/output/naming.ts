import type { NamingStep } from '../options';
import { DEFAULT_TEMPLATE, type Template, type TemplateToken } from './template';

export interface Naming {
  template: string;
  /** false with -FX: no flow files, only the report. */
  storeFiles: boolean;
  /** -FM asks for MD5s (and, unlike tcpflow, gets them: spec B10). */
  md5: boolean;
  warnings: string[];
}

/** The binning prefixes of -Fk, -Fm and -Fg (spec §2.3). */
const PREFIX: Record<string, string> = {
  t: '%tT',
  T: '%T',
  k: '%K/',
  m: '%M000-%M999/%M%K/',
  g: '%G000000-%G999999/%G%M000-%G%M999/%G%M%K/',
};

/**
 * Apply -T and -F in command-line order, each rewriting the template current at that
 * point (spec §2.3-2.4: "-Fk -T x" loses the binning, "-T x -Fk" keeps it).
 */
export function buildNaming(steps: readonly NamingStep[]): Naming {
  const n: Naming = { template: DEFAULT_TEMPLATE, storeFiles: true, md5: false, warnings: [] };
  for (const step of steps) {
    if (step.kind === 'template') {
      // A template without %c gets the connection counter, so names stay unique.
      n.template = step.value.includes('%c') ? step.value : step.value + '%C%c';
      continue;
    }
    for (const letter of step.letters) {
      if (PREFIX[letter] !== undefined) n.template = PREFIX[letter] + n.template;
      else if (letter === 'c') n.template = appendCounter(n.template);
      else if (letter === 'X') n.storeFiles = false;
      else if (letter === 'M') n.md5 = true;
      else n.warnings.push(`-F invalid format specification '${letter}'`);
    }
  }
  return n;
}

/**
 * -Fc: the connection counter on every name, the first connection's too (spec B9: tcpflow
 * turned %c into %C and so wrote "cc"). %c becomes %# (the count, 0 included) and a %C
 * that introduced it becomes a plain 'c', so the default names end in c0, c1, ...
 */
function appendCounter(t: string): string {
  let out = '';
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== '%' || i + 1 >= t.length) { out += t[i]; continue; }
    const e = t[++i];
    out += e === 'c' ? '%#' : e === 'C' ? 'c' : '%' + e;
  }
  return out;
}

const TUPLE = ['A', 'a', 'B', 'b'];
const isEscape = (t: TemplateToken | undefined, names: readonly string[]) => typeof t === 'object' && names.includes(t.escape);

/**
 * Whether two different connections can never get the same name from this template, so
 * that every name's c1, c2 ... counter is decided inside one worker (a connection's two
 * directions share a worker). Where different connections' names may coincide (`-T %A`,
 * `-T %t-%#`), which of them keeps the plain name depends on the order in which they
 * create their files, which only one worker sees whole: the run then uses one worker.
 *
 * Names are known to keep connections apart in two shapes, both needing %A, %a, %B and %b:
 * tcpflow's own, `%A.%a-%B.%b` after the -F prefixes (bins, %tT, %T) with anything
 * after it (an address's text holds no '-', a port is 5 digits); and templates where each
 * of the four stands alone between '/' (or the template's ends), as no escape writes '/'.
 */
export function namesKeepConnectionsApart(template: Template): boolean {
  const tokens = template.tokens;
  const count = (name: string) => tokens.filter((t) => isEscape(t, [name])).length;
  if (!TUPLE.every((e) => count(e) >= 1)) return false;
  // tcpflow's shape: strip -F prefixes, then %A.%a-%B.%b, with no other tuple escape after it.
  let rest = template.source;
  for (let stripped = true; stripped;) {
    stripped = false;
    for (const p of Object.values(PREFIX)) {
      if (rest.startsWith(p)) { rest = rest.slice(p.length); stripped = true; }
    }
  }
  if (rest.startsWith('%A.%a-%B.%b') && TUPLE.every((e) => count(e) === 1)) return true;
  // Slash-delimited: each tuple escape is a whole path component.
  return tokens.every((t, i) => !isEscape(t, TUPLE) ||
    ((i === 0 || (typeof tokens[i - 1] === 'string' && (tokens[i - 1] as string).endsWith('/'))) &&
     (i === tokens.length - 1 || (typeof tokens[i + 1] === 'string' && (tokens[i + 1] as string).startsWith('/')))));
}
