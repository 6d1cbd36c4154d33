/**
 * man/tcpflow-ts.1, rendered (man(7) macros) from the option table that -h is rendered from
 * (usage.ts). `npm run man` writes it; a test fails when the committed file differs from
 * this rendering, so the man page and -h always list the same options.
 */
import { PROGRAM_NAME, TCPFLOW_VERSION, VERSION } from '../src/version';
import { DEFAULT_TEMPLATE } from '../src/output/template';
import {
  EXIT_STATUSES, FLOW_NUMBER_NOTE, FORMAT_LETTERS, MERGE_REPORTS, NBSP, OPTION_SECTIONS, PARAM_NOTE, PARAMS, SCANNERS, TEMPLATE_ESCAPES,
  NOT_IMPLEMENTED_NOTE, optionSummary, paramSummary, synopsisWords, type Features, type OptionDoc,
} from './usage';

/**
 * Plain text as troff input: backslashes and hyphen-minus escaped (so that options and
 * templates copy as typed), no-break spaces unbreakable, and a line that would start with a
 * control character guarded.
 */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replaceAll(NBSP, '\\ ')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

const bold = (text: string) => `\\fB${roff(text)}\\fR`;
const italic = (text: string) => `\\fI${roff(text)}\\fR`;

/** A tagged paragraph: the tag line, then the text. */
function tagged(tag: string, text: string): string[] {
  return ['.TP', tag, roff(text)];
}

function optionTag(o: OptionDoc): string {
  const arg = o.arg === undefined ? '' : ` ${italic(o.arg)}`;
  return o.flags.length === 0 ? italic(o.arg ?? '') : o.flags.map(bold).join(', ') + arg;
}

const DESCRIPTION = [
  'tcpflow-ts reads pcap and pcapng captures, reassembles every TCP connection and writes each direction to its own file,',
  'named the way tcpflow names them (192.168.001.102.50955-074.125.019.104.00080), with a DFXML report,',
  `report.xml, beside them. It reproduces tcpflow ${TCPFLOW_VERSION} (command line, file names, file contents, report),`,
  'except where that version has a bug (see DIFFERENCES FROM TCPFLOW). Packets are processed by worker threads;',
  'the output does not depend on their number.',
].join(' ');

const DIFFERENCES = [
  `Where tcpflow ${TCPFLOW_VERSION} has a bug, tcpflow-ts fixes it; where its behaviour is unspecified, tcpflow-ts chooses one.`,
  `The differences seen most often: Ethernet padding is not stored as data (tcpflow ${TCPFLOW_VERSION} makes files 6 bytes`,
  'longer and writes 6-byte ...c1 files for most captures); -Fc puts c0 on the first connection\'s names instead of nothing',
  '(and c1, not cc, on the second); %N, %K, %M, %G and the -Fk, -Fm, -Fg directories number a flow by the index of its',
  'first packet, not by a creation counter; -c writes no report.xml; -V exits 0 and a bad option or value exits 2.',
  'Every difference, with an example and the option that restores tcpflow\'s behaviour where there is one, is listed in',
  'the "Differences from tcpflow" section of the README.',
].join(' ');

const EXAMPLES: readonly (readonly [string, string])[] = [
  ['tcpflow-ts -r capture.pcap -o out', 'one file per flow direction in out/, and out/report.xml'],
  ['tcpflow-ts -c -r capture.pcap | less', 'the payloads on the terminal, in packet order'],
  ['tcpflow-ts -e md5 -Fk -r a.pcap -r b.pcap -o out', 'two captures as one stream, files binned by 1000, MD5s in the report'],
  ['tcpflow-ts -l *.pcap -o out --jsonl out/flows.jsonl', 'every capture of the directory, the report also as JSON Lines'],
];

/** The man page, troff source, ending in a newline. */
export function manPage(features: Features): string {
  const out: string[] = [
    `.\\" Generated from cli/usage.ts by \`npm run man\`: edit that, not this file.`,
    `.TH TCPFLOW\\-TS 1 "" "${roff(`${PROGRAM_NAME} ${VERSION}`)}" "User Commands"`,
    // No hyphenation, ragged right: option and parameter names must not be split.
    '.nh',
    '.ad l',
    '.SH NAME',
    `tcpflow\\-ts \\- TCP flow recorder compatible with tcpflow ${roff(TCPFLOW_VERSION)}`,
    '.SH SYNOPSIS',
    '.B tcpflow\\-ts',
    synopsisWords().map((w) => roff(w.replaceAll(' ', NBSP))).join('\n'),
    '.SH DESCRIPTION',
    roff(DESCRIPTION),
    '.PP',
    roff('Options follow GNU getopt rules: flags may be bundled (-cD), an argument may follow its option in the same word (-Fk, -b100), and options and operands may be mixed. Whole-number values are digits only, within the ranges given below; anything else is refused.'),
    '.SH OPTIONS',
  ];
  for (const section of OPTION_SECTIONS) {
    out.push(`.SS ${section.title}`);
    for (const o of section.options) {
      out.push(...tagged(optionTag(o), optionSummary(o, features) + (o.details === undefined ? '.' : `. ${o.details}`)));
    }
  }
  out.push('.SH PARAMETERS', roff(`Set with -S name=value; shown with their defaults. ${PARAM_NOTE}`));
  for (const p of PARAMS) out.push(...tagged(`${bold(`-S ${p.name}=`)}${roff(p.default)}`, paramSummary(p, features) + '.'));
  out.push('.SH SCANNERS', roff('Disabled by default, enabled with -e:'));
  for (const s of SCANNERS.filter((x) => !x.enabledByDefault)) {
    out.push(...tagged(bold(s.name), features.implementedScanners.has(s.name) ? 'Works.' : NOT_IMPLEMENTED_NOTE.trim() + '.'));
  }
  out.push('.PP', roff(`Enabled by default, disabled with -x${features.notImplemented.has('x') ? NOT_IMPLEMENTED_NOTE : ''}:`));
  for (const s of SCANNERS.filter((x) => x.enabledByDefault)) out.push(...tagged(bold(s.name), 'The TCP reassembly itself.'));
  out.push('.SH FILE NAMES', roff(`The default template is ${DEFAULT_TEMPLATE}. The -F letters:`));
  for (const [letter, meaning] of FORMAT_LETTERS) out.push(...tagged(bold(`-F${letter}`), meaning + '.'));
  out.push('.PP', roff('The -T escapes:'));
  for (const [escape, meaning] of TEMPLATE_ESCAPES) out.push(...tagged(bold(escape), meaning + '.'));
  out.push('.PP', roff(FLOW_NUMBER_NOTE));
  out.push('.SH SUBCOMMANDS', ...tagged(`${bold('merge-reports')} ${roff(MERGE_REPORTS.synopsis.join(' '))}`, MERGE_REPORTS.summary + '.'));
  out.push('.RS');
  for (const [tag, text] of MERGE_REPORTS.options) out.push(...tagged(bold(tag), text + '.'));
  out.push('.RE');
  for (const d of [...MERGE_REPORTS.details, MERGE_REPORTS.exit]) out.push('.IP', roff(d));
  out.push('.SH EXIT STATUS');
  for (const [status, meaning] of EXIT_STATUSES) out.push(...tagged(bold(status), meaning + '.'));
  out.push(
    '.SH ENVIRONMENT',
    ...tagged(bold('TMPDIR'), 'Where -L puts lock files named without a /.'),
    ...tagged(bold('TCPFLOW_TS_LOG_JSON'), 'When 1, messages go to standard error as JSON lines instead of tcpflow-ts: text lines.'),
    ...tagged(bold('TCPFLOW_TS_NATIVE_FILES'), 'When 0, flow files are written through Node.js\'s fs module only, not the optional tcpflow-ts-files addon (used, when it is built, once a worker has created 1,024 files; 1: from the first), and the process ends through process.exit(), not the addon\'s _exit (which avoids a rare hang of Node.js at exit). The files and reports are the same either way.'),
    '.SH FILES',
    ...tagged(bold('outdir/report.xml'), 'The DFXML report (-X, -S enable_report).'),
    '.SH DIFFERENCES FROM TCPFLOW',
    roff(DIFFERENCES),
    '.SH EXAMPLES',
  );
  for (const [command, meaning] of EXAMPLES) out.push(...tagged(bold(command), meaning + '.'));
  out.push('.SH SEE ALSO', '.BR tcpflow (1),', '.BR tcpdump (8),', '.BR pcap\\-filter (7)');
  out.push(`.PP\n${roff(`This page describes tcpflow-ts ${VERSION}.`)}`);
  return out.join('\n') + '\n';
}
