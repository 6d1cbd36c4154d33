/**
 * The -h / -hh text, rendered from the option table (usage.ts) that the man page is rendered
 * from too. The layout follows tcpflow's (usage line, options by section, -hh adds the
 * parameters, scanners, -F letters and template escapes); every line of an option or
 * parameter not implemented yet says so.
 */
import { VERSION_LINE } from '../src/version';
import {
  EXIT_STATUSES, FLOW_NUMBER_NOTE, FORMAT_LETTERS, OPTION_SECTIONS, PARAM_NOTE, PARAMS, SCANNERS, TEMPLATE_ESCAPES,
  MERGE_REPORTS, NBSP, NOT_IMPLEMENTED_NOTE, optionSummary, paramSummary, synopsisWords, type Features,
} from './usage';
import { DEFAULT_TEMPLATE } from '../src/output/template';

/**
 * -V output. tcpflow prints `TCPFLOW 1.6.1`, its report's <program> and <version>; ours names
 * this program and its version (the report's too) and says what it is compatible with.
 */
export const VERSION_TEXT = `${VERSION_LINE}\n`;

const WIDTH = 79;
const INDENT = '   ';
/** Where option summaries start. */
const SUMMARY_COLUMN = 24;

/**
 * `text` after `head`, words wrapped at WIDTH, continuation lines at `column`; a head too
 * long for the column gets a line of its own.
 */
function hang(head: string, text: string, column: number): string[] {
  const lines: string[] = [];
  let line = head.padEnd(column);
  if (head.length > column - 2 && head.trim() !== '') {
    lines.push(head);
    line = ' '.repeat(column);
  }
  let fresh = true;
  for (const word of text.split(' ')) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(column);
      fresh = true;
    }
    line += (fresh ? '' : ' ') + word;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

function usageLines(): string[] {
  const lines: string[] = [];
  let line = 'usage: tcpflow-ts';
  for (const word of synopsisWords()) {
    if (line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat('usage:'.length);
    }
    line += ' ' + word;
  }
  lines.push(line);
  return lines;
}

function optionLines(features: Features): string[] {
  return OPTION_SECTIONS.flatMap((section) => [
    '',
    `${section.title}:`,
    ...section.options.flatMap((o) => {
      const spelled = o.flags.length === 0 ? o.arg ?? '' : o.flags.join(', ') + (o.arg === undefined ? '' : ` ${o.arg}`);
      return hang(INDENT + spelled, optionSummary(o, features), SUMMARY_COLUMN);
    }),
  ]);
}

function paramLines(features: Features): string[] {
  return [
    '',
    'Parameters (-S name=value, with their defaults):',
    ...PARAMS.flatMap((p) => hang(`${INDENT}-S ${p.name}=${p.default}`, paramSummary(p, features), 36)),
    INDENT + PARAM_NOTE,
    '',
    'Scanners disabled by default; enable with -e:',
    ...SCANNERS.filter((s) => !s.enabledByDefault).map((s) =>
      `${INDENT}-e ${s.name}${features.implementedScanners.has(s.name) ? '' : NOT_IMPLEMENTED_NOTE}`),
    `Scanners enabled by default; disable with -x${features.notImplemented.has('x') ? NOT_IMPLEMENTED_NOTE : ''}:`,
    ...SCANNERS.filter((s) => s.enabledByDefault).map((s) => `${INDENT}-x ${s.name}`),
  ];
}

function namingLines(): string[] {
  return [
    '',
    'File name prefixes and switches (-F letters):',
    ...FORMAT_LETTERS.flatMap(([letter, meaning]) => hang(`${INDENT}-F${letter}`, meaning, 10)),
    '',
    `File name template escapes (-T; default ${DEFAULT_TEMPLATE}):`,
    ...TEMPLATE_ESCAPES.flatMap(([escape, meaning]) => hang(INDENT + escape, meaning, 12)),
    ...hang(INDENT, FLOW_NUMBER_NOTE, 3),
    ...hang(INDENT, "-T and the -F letters apply in command-line order: '-Fk -T %A' loses the binning, '-T %A -Fk' keeps it. A '/' in a name makes subdirectories.", 3),
  ];
}

function exitLines(): string[] {
  return ['', 'Exit status:', ...EXIT_STATUSES.flatMap(([status, meaning]) => hang(INDENT + status, meaning, 12))];
}

/**
 * -H: each scanner with its flags, description and parameters (tcpflow prints a block per
 * scanner, then the settable parameters and the two scanner lists), then the -S names of
 * this command line that no scanner knows.
 */
export function scannerHelpText(features: Features, unknownParams: readonly string[]): string {
  const lines = [VERSION_LINE];
  for (const sc of SCANNERS) {
    lines.push('', `Scanner Name: ${sc.name}${features.implementedScanners.has(sc.name) ? '' : NOT_IMPLEMENTED_NOTE}`);
    lines.push(`flags:  ${sc.enabledByDefault ? 'SCANNER_ENABLED' : 'SCANNER_DISABLED'}${sc.tcpflow ? '' : ' (tcpflow-ts only)'}`);
    lines.push(...hang('Description: ', sc.description, 15));
    const params = PARAMS.filter((p) => p.scanner === sc.name);
    lines.push(params.length === 0 ? 'Parameters: none' : 'Parameters:');
    for (const p of params) lines.push(...hang(`${INDENT}-S ${p.name}=${p.default}`, paramSummary(p, features), 36));
  }
  lines.push(...paramLines(features));
  if (unknownParams.length > 0) {
    lines.push('', 'Parameters given that no scanner knows (ignored):', ...unknownParams.map((p) => `${INDENT}-S ${p}`));
  }
  return lines.map((l) => l.trimEnd().replaceAll(NBSP, ' ') + '\n').join('');
}

function subcommandLines(): string[] {
  return ['', 'Subcommands:', ...hang(`${INDENT}merge-reports`, `${MERGE_REPORTS.summary} (tcpflow-ts merge-reports -h)`, SUMMARY_COLUMN)];
}

/** merge-reports -h. */
export function mergeHelpText(): string {
  const lines = [
    VERSION_LINE,
    '',
    `usage: tcpflow-ts merge-reports ${MERGE_REPORTS.synopsis.join(' ')}`,
    '',
    ...hang('', MERGE_REPORTS.summary + '.', 0),
    '',
    'Options:',
    ...MERGE_REPORTS.options.flatMap(([tag, text]) => hang(INDENT + tag, text, SUMMARY_COLUMN)),
    ...MERGE_REPORTS.details.flatMap((d) => ['', ...hang('', d, 0)]),
    '',
    ...hang('', MERGE_REPORTS.exit, 0),
  ];
  return lines.map((l) => l.trimEnd() + '\n').join('');
}

/** The usage text for -h repeated `level` times (2 and more add the -hh parts), ending in a newline. */
export function helpText(level: number, features: Features): string {
  const lines = [
    VERSION_LINE,
    '',
    ...usageLines(),
    ...optionLines(features),
    ...(level >= 2 ? [...paramLines(features), ...namingLines()] : []),
    ...subcommandLines(),
    ...exitLines(),
    '',
    'See the man page (man tcpflow-ts) for more, and for what differs from tcpflow.',
  ];
  return lines.map((l) => l.trimEnd().replaceAll(NBSP, ' ') + '\n').join('');
}
