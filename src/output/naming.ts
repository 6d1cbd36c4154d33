import { DEFAULT_TEMPLATE } from './template';

export type NamingStep = { kind: 'template'; value: string } | { kind: 'format'; letters: string };

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
