/**
 * The one description of the command line: every option, -S parameter, -F letter, template
 * escape and exit status. -h (help.ts) and the man page (manpage.ts, man/tcpflow-ts.1) are
 * both rendered from it, so they cannot list different options, and a test holds the
 * committed man page to what this table renders.
 *
 * Text is plain: the renderers format and escape it, and break lines only at spaces, never
 * at a no-break space (NBSP below). In summaries, `{range}` becomes the accepted values
 * (values.ts) and `{scanners}` the scanners that work (fillSummary).
 */
import { EXIT } from '../src/errors';
import { DEFAULT_MAX_FLOWS } from '../src/flow/buckets';
import { DEFAULT_MAX_SEEK } from '../src/flow/tcpdemux';
import { DEFAULT_TEMPLATE } from '../src/output/template';
import { DEFAULT_INFLATE_LIMITS } from '../src/scanners/http/inflate';
import {
  DECOMPRESS_RANGE, HTTP_MAX_BODY_RANGE, HTTP_MAX_RATIO_RANGE, MAX_FLOWS_RANGE, NETVIZ_ADDRESSES_RANGE, TCP_TIMEOUT_RANGE, WHOLE_NUMBER_OPTIONS,
  type WholeRange,
} from './values';
import { DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO } from '../src/capture/decompress';
import { DEFAULT_NETVIZ_ADDRESSES } from '../src/netviz/collector';
import { IN_PROCESS_MAX_BYTES } from '../src/shard/host-choice';
import { DEFAULT_PLUGIN_FUNCTION } from '../src/scanners/js-plugin';

/** A space where a line must not break (`-S${NBSP}enable_report=YES`). */
export const NBSP = '\u00a0';

export interface OptionDoc {
  /** The option letter or long-only name (the keys of NOT_IMPLEMENTED and WHOLE_NUMBER_OPTIONS). */
  key: string;
  /** Short and long spellings, e.g. ['-v', '--verbose']; none for the expression operands. */
  flags: readonly string[];
  /** The argument's name, if it takes one. */
  arg?: string;
  /** -h's line, and the start of the man page's paragraph. */
  summary: string;
  /** The rest of the man page's paragraph. */
  details?: string;
}

export interface OptionSection {
  title: string;
  options: readonly OptionDoc[];
}

export const OPTION_SECTIONS: readonly OptionSection[] = [
  {
    title: 'Input',
    options: [
      {
        key: 'r', flags: ['-r'], arg: 'file',
        summary: "read packets from a pcap or pcapng file, a directory of them, or '-' for standard input (may be repeated)",
        details: 'Several files are read as one stream, in command-line order: a connection may go on from one file to the next. A file compressed with gzip, bzip2, xz or zstd is decompressed as it is read (recognised by its first bytes, not its name). A directory stands for every capture file below it, read in the order of their first packets (ties: by name); names starting with a dot are skipped, symbolic links followed, and other files skipped with a warning each. A warning says when a file starts before the end of the one read before it.',
      },
      {
        key: 'R', flags: ['-R'], arg: 'file',
        summary: 'read file (or directory) after all -r files, only to finish connections still open',
        details: 'Packets of connections not open at that point are ignored, so no new connection starts.',
      },
      {
        key: 'sort-inputs', flags: ['--sort-inputs'],
        summary: 'read the -r files and -l operands in the order of their first packets (ties: by name), as directories are; likewise the -R files',
      },
      { key: 'l', flags: ['-l'], summary: 'treat the operands as input files (after the -r files) rather than a filter expression' },
      {
        key: 'i', flags: ['-i'], arg: 'iface',
        summary: "capture live from iface when no -r, -R or -l input is given (default: libpcap's first device)",
        details: "Needs libpcap through the optional 'pcap' package. Packets reach the workers within about 100 ms; SIGINT, SIGTERM or SIGHUP stop the capture, every flow is closed, the report is completed (with the kernel's drop count in <capture_stats>) and the exit status is 0. A second signal exits at once. On a terminal a status line shows packets/s, flow files open and drops.",
      },
      { key: 'p', flags: ['-p'], summary: "don't put the interface into promiscuous mode (live capture)" },
      {
        key: 'expression', flags: [], arg: 'expression',
        summary: 'pcap-filter(7) expression applied to every input and to a live capture: the operands, unless -l is given',
        details: "Operands are joined by single spaces into one expression, compiled by libpcap (the optional 'pcap' package). A bad expression stops the run before anything is written, with libpcap's message (exit 1). When no input option and no -i is given and an operand names an existing file, the run stops and suggests -r.",
      },
    ],
  },
  {
    title: 'Output',
    options: [
      { key: 'o', flags: ['-o'], arg: 'outdir', summary: "output directory (default '.'), created if missing (one level)" },
      {
        key: 'X', flags: ['-X'], arg: 'file',
        summary: 'write the DFXML report to file instead of outdir/report.xml',
        details: 'A relative file is taken from the current directory, not from outdir. Console modes (-c, -C) write no report unless -S enable_report=YES is given.',
      },
      {
        key: 'jsonl', flags: ['--jsonl'], arg: 'file',
        summary: 'also write the report as JSON Lines to file: one object per flow, then a summary',
        details: 'Ignored, with a warning, in console modes.',
      },
      {
        key: 'T', flags: ['-T'], arg: 'template',
        summary: `file name template (default ${DEFAULT_TEMPLATE}; -hh lists the escapes)`,
        details: "A template without %c gets %C%c appended, so that names stay unique. A '/' in a name makes subdirectories. -T replaces the template current at that point: '-Fk -T %A' loses the binning, '-T %A -Fk' keeps it.",
      },
      {
        key: 'F', flags: ['-F'], arg: 'letters',
        summary: 'file name prefixes and switches: c, t, T, X, M, k, m, g (-hh explains them)',
        details: 'Each letter changes the template current at that point, in command-line order.',
      },
      { key: 'I', flags: ['-I'], summary: 'write beside each flow file an index, file.findx: one offset|time|length line per write' },
      {
        key: 'K', flags: ['-K'], summary: 'write one pcap file per flow direction (flow name.pcap) instead of flow files',
        details: 'The frames are kept as captured; the file has the input\'s link type.',
      },
      {
        key: 'w', flags: ['-w'], arg: 'file',
        summary: 'write the packets that were not processed to a pcap file',
        details: 'These are packets that are not TCP, IP fragments after the first (whether or not their datagram was reassembled), TCP headers cut short, and SYNs repeated after a flow stored data (tcpflow\'s SYN TO IGNORE), in packet order; any input format.',
      },
      {
        key: 'b', flags: ['-b'], arg: 'max_bytes', summary: 'store at most max_bytes bytes per flow ({range}; default: no limit)',
        details: '-b 0 still creates every flow file, empty. The report gives a flow\'s whole size, as tcpflow does.',
      },
      {
        key: 'm', flags: ['-m'], arg: 'bytes', summary: `a sequence number jump of more than bytes starts a new file ({range}; default ${DEFAULT_MAX_SEEK})`,
        details: '-m 0 starts a new file on any retransmission or reordering; from 2147483648 on, no jump does.',
      },
      {
        key: 'f', flags: ['-f'], arg: 'max_fds', summary: 'keep at most max_fds flow files open at once ({range}; default: what the system allows)',
        details: 'The least recently used file is closed, and opened again when its flow goes on; the output is the same.',
      },
      { key: 'P', flags: ['-P'], summary: 'no purge: accepted and ignored (closed flows are always purged from memory)' },
      {
        key: 'a', flags: ['-a'], summary: 'do ALL post-processing: every built-in scanner that works (not js)',
        details: 'The same as -e all, followed by -e md5: so md5 stays on even after a later -x md5, as in tcpflow. The js plugin scanner runs only when named (-e js).',
      },
      { key: 'Z', flags: ['-Z'], summary: 'do not decompress HTTP bodies (gzip, deflate, br): -e http writes them as sent' },
    ],
  },
  {
    title: 'Running',
    options: [
      {
        key: 'd', flags: ['-d'], arg: 'level', summary: 'debug level ({range}; default 1)',
        details: '0 prints warnings and errors only, 2 the end-of-run summary, 10 and more everything there is.',
      },
      { key: 'v', flags: ['-v', '--verbose'], summary: `verbose: the same as -d${NBSP}10` },
      { key: 'q', flags: ['-q'], summary: 'quiet: no warning about an output directory of 10,000 entries or more, nor about flows closed by the open-flow cap' },
      {
        key: 'workers', flags: ['--workers'], arg: 'N', summary: 'worker threads ({range}; default: one worker per CPU)',
        details: `The output does not depend on it. A template that lets different connections share a name runs one worker whatever is asked; -FX (no flow files) runs one unless --workers is given. Without --workers, inputs of plain capture files (or directories of them) of at most ${IN_PROCESS_MAX_BYTES / (1 << 20)} MiB in all, and -FX runs over plain capture files whose first records are mostly full-size segments (long flows: reading is then the larger part of the work), are processed in the main thread, without starting threads; larger inputs of long flows run one worker in the main thread beside threads for the others, with a smaller share of the flows (the main thread also reads; on 2 or 3 CPUs, up to 6 with content scanners). -d 2 says which; given, --workers N always means N threads.`,
      },
      {
        key: 'shard', flags: ['--shard'], arg: 'K/N',
        summary: "keep only the connections in slice K (from 0) of N of the flow hash: one machine's part of a cluster job",
        details: "The files written are exactly those a run without --shard writes for these connections (same names, c1 counters, contents and times), so N runs into one shared directory, one per K, write the files of one run; tcpflow-ts merge-reports then merges their reports into that run's report. Report and -w paths get .shard-K-of-N before their extension (out/report.shard-0-of-4.xml), so one command line serves every shard. Packets of no connection (-w) go to shard 0. Refused with a template that lets different connections share a name. Where the open-flow cap (-S max_flows) is reached, each shard applies it to its own connections.",
      },
      {
        key: 'shards', flags: ['--shards'], arg: 'N',
        summary: '--shard K/N with K from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or else SLURM_ARRAY_TASK_ID (Slurm job array)',
        details: 'A missing index, or one that is not a whole number below N, stops the run with exit status 2.',
      },
      {
        key: 'resume', flags: ['--resume'],
        summary: 'keep a journal in the output directory and, after a crash, kill -9 or reboot, go on from the inputs it marks complete',
        details: "After each input the journal is replaced (written, synced, renamed). Run again with the same command line and --resume: the files made after the last complete input are removed, the flows still open at its end end there (their files cut back to what they held, their records written as at the end of input), and the remaining inputs are read as by a new run into the same directory; the report has the records and totals of both. SIGINT and SIGTERM stop at once, leaving the journal. A finished run is not redone. Not with -c, -C, -K, -w, standard input, live capture or scanners other than md5.",
      },
      { key: 'h', flags: ['-h', '--help'], summary: 'print this help and exit (-hh: also parameters, -F letters and template escapes)' },
      { key: 'H', flags: ['-H'], summary: 'print each scanner with its parameters, then every parameter, and exit' },
      { key: 'V', flags: ['-V', '--version'], summary: 'print the program name, its version and the tcpflow version it follows, and exit' },
      { key: 'A', flags: ['-A'], arg: 'x', summary: 'deprecated (in tcpflow too): a warning, no other effect' },
    ],
  },
  {
    title: 'Security',
    options: [
      {
        key: 'U', flags: ['-U', '--relinquish-privileges'], arg: 'user',
        summary: 'become user once the capture and the first input are open (root only)',
        details: 'The report files (and a freshly created output directory) are given to user first. Refused when not running as root.',
      },
      {
        key: 'z', flags: ['-z', '--chroot'], arg: 'dir', summary: 'chroot to dir just before becoming -U user (requires -U)',
        details: 'The output directory, -X, --jsonl and -w are taken inside dir (a relative path from its top) and made there, not outside it. One input file or a live capture; not with -L, --resume or a filter on files. Needs the optional tcpflow-ts-chroot addon (built by npm ci).',
      },
    ],
  },
  {
    title: 'Control of scanners',
    options: [
      {
        key: 'e', flags: ['-e'], arg: 'scanner', summary: 'enable scanner (working: {scanners}; all: every built-in one; -H describes them)',
        details: '-e, -E, -x and -a apply in command-line order: -a -x http leaves http off, -x http -a turns it back on. md5 adds the MD5 of every flow file to the report; netviz draws outdir/report.svg and report.html; js runs a JavaScript function on every flow (-S js_module, -S js_function).',
      },
      {
        key: 'E', flags: ['-E'], arg: 'scanner', summary: 'turn off all scanners except scanner (flows are still written)',
        details: 'tcpdemux, which writes the flows, stays on: -E md5 writes every flow and its MD5.',
      },
      {
        key: 'x', flags: ['-x'], arg: 'scanner', summary: 'turn off scanner (-x all: every scanner but tcpdemux)',
        details: '-x tcpdemux turns off TCP processing: no flow is written (netviz still sees every packet).',
      },
      {
        key: 'S', flags: ['-S'], arg: 'name=value', summary: 'set a parameter (-hh lists them)',
        details: 'The argument must split into exactly one name and one value. Unknown names are accepted with a warning and have no effect; -H lists them.',
      },
    ],
  },
  {
    title: 'Console output',
    options: [
      {
        key: 'c', flags: ['-c'],
        summary: `console print only: each segment to standard output as it arrives; no flow files, and no report unless -S${NBSP}enable_report=YES (tcpflow 1.6.1 writes outdir/report.xml)`,
        details: 'Later tcpflow writes no report either. Each segment is printed as its flow name, a colon, a space and the payload, then a newline.',
      },
      { key: 'C', flags: ['-C'], summary: 'like -c, without the flow name before each segment' },
      { key: 'B', flags: ['-B'], summary: 'binary: print payloads as they are (-c and -C print non-printable bytes as .); wins over -s' },
      { key: 's', flags: ['-s'], summary: "strip non-printable characters (change to '.'): the default of -c and -C; flow files are never changed" },
      { key: '0', flags: ['-0'], summary: "don't print a newline after each segment" },
      { key: 'J', flags: ['-J'], summary: 'print each segment as a JSON object: addresses, ports and payload bytes' },
      { key: 'D', flags: ['-D'], summary: 'print payloads as a hex dump' },
      { key: 'g', flags: ['-g'], summary: 'colour each segment by direction: blue from the side that sent the SYN, red otherwise' },
      {
        key: 'L', flags: ['-L'], arg: 'semlock', summary: 'lock console writes against other runs using the same semlock (a lock file)',
        details: "semlock with a '/' is the lock file's path; any other name is <tmpdir>/tcpflow-ts-semlock.lock ($TMPDIR or /tmp). A lock left by a killed run is broken by the next one.",
      },
    ],
  },
];

/** The merge-reports subcommand: its synopsis, description and options (its -h and the man page). */
export const MERGE_REPORTS = {
  synopsis: ['[-o merged]', '[--jsonl merged.jsonl]', 'report...'],
  summary: 'merge the reports of the runs of one --shard K/N job (DFXML, JSON Lines, or both) into the report of one run',
  details: [
    'The records come out in the order one run over all the connections gives them, the totals are added up, and max_open_flows and open_fds_at_end are counted again packet by packet over all shards; shard extensions (tcpflow-ts:shard, tcpflow-ts:record, the first JSON line and the first_packet, file_packet and close_packet fields) are left out, so the merged report has the flows and totals of one run.',
    'The reports must be every shard of one job (same inputs, input sizes, options and version; each index once): anything else stops the merge with exit status 1 and nothing written. The format of each report is read from its content. The merged file is written beside the target and renamed into place.',
    'Warnings: a shard that ended early (its error is carried into the merged report), and a shard where the open-flow cap closed flows (each shard applies -S max_flows to its own connections, so the merged report can then differ from one run\'s).',
  ],
  options: [
    ['-o merged', 'write the merged DFXML report to merged (or the merged JSON Lines report, when every input is JSON Lines and --jsonl is not given)'],
    ['--jsonl merged.jsonl', 'write the merged JSON Lines report to merged.jsonl'],
    ['-h, --help', 'print this help and exit'],
  ] as readonly (readonly [string, string])[],
  exit: 'Exit status: 0 merged, 1 a report cannot be read or is not a shard of the job, 2 usage error, 3 the output cannot be written.',
} as const;

export interface ParamDoc {
  name: string;
  default: string;
  summary: string;
  range?: WholeRange;
  /** The scanner the parameter belongs to (-H lists it under that scanner). */
  scanner?: string;
}

/** -S parameters (tcpflow's, and tcpflow-ts's own: max_flows, vlan_key, the decompression bounds, hash, js_module, js_function). */
export const PARAMS: readonly ParamDoc[] = [
  { name: 'enable_report', default: 'YES', summary: 'write the report (report.xml or the -X file); NO in console modes' },
  { name: 'tdelta', default: '0', summary: 'whole seconds added to every packet time (flow and file times, names, report)' },
  { name: 'max_flows', default: String(DEFAULT_MAX_FLOWS), summary: 'open flows kept; past it the least recently seen are closed ({range})', range: MAX_FLOWS_RANGE },
  { name: 'vlan_key', default: 'YES', summary: "keep flows apart by VLAN (innermost tag): one 4-tuple on two VLANs gives two flows, '--10' and '--20'; NO merges them, as tcpflow does" },
  { name: 'tcp_timeout', default: '0', summary: 'a flow with no packet for more than this many seconds of packet time is closed (0: never; {range})', range: TCP_TIMEOUT_RANGE, scanner: 'tcpdemux' },
  { name: 'decompress_max_bytes', default: String(DEFAULT_MAX_DECOMPRESSED), summary: 'a compressed input may decompress to at most this many bytes ({range})', range: DECOMPRESS_RANGE },
  { name: 'decompress_max_ratio', default: String(DEFAULT_MAX_RATIO), summary: 'a compressed input may decompress to at most this many times the compressed bytes read, past its first MiB ({range})', range: DECOMPRESS_RANGE },
  { name: 'tcp_cmd', default: '', summary: 'shell command run as "cmd path" on each flow file when its flow is closed (at most 10 at once)', scanner: 'tcpdemux' },
  { name: 'tcp_alert_fd', default: '-1', summary: 'file descriptor that gets "open<TAB>path" and "close<TAB>path" lines for flow files', scanner: 'tcpdemux' },
  { name: 'http_max_body', default: String(DEFAULT_INFLATE_LIMITS.maxBytes), summary: 'bytes a decompressed HTTP body is cut at ({range}; http scanner)', range: HTTP_MAX_BODY_RANGE, scanner: 'http' },
  { name: 'http_max_ratio', default: String(DEFAULT_INFLATE_LIMITS.maxRatio), summary: 'a decompressed HTTP body is cut past this many times its compressed bytes, after its first MiB ({range}; http scanner)', range: HTTP_MAX_RATIO_RANGE, scanner: 'http' },
  { name: 'http_cmd', default: '', summary: 'shell command run as "cmd path" on each non-empty HTTP body file', scanner: 'http' },
  { name: 'http_alert_fd', default: '-1', summary: 'file descriptor that gets "open<TAB>path" and "close<TAB>path" lines for HTTP body files', scanner: 'http' },
  { name: 'hash', default: '', summary: 'digests of every flow file added to the report: sha256, md5 or md5,sha256 (no -e md5 needed)', scanner: 'md5' },
  { name: 'netviz_histogram_dump', default: '0', summary: 'when not 0, print the histograms as text to standard output at the end', scanner: 'netviz' },
  { name: 'netviz_histogram_size', default: String(DEFAULT_NETVIZ_ADDRESSES), summary: 'distinct addresses each worker counts exactly, per direction ({range}; tcpflow: tree size 1000)', range: NETVIZ_ADDRESSES_RANGE, scanner: 'netviz' },
  { name: 'js_module', default: '', summary: 'JavaScript module (CommonJS or ES) whose function the js scanner calls on every flow', scanner: 'js' },
  { name: 'js_function', default: DEFAULT_PLUGIN_FUNCTION, summary: "the module's exported function the js scanner calls", scanner: 'js' },
  { name: 'check_fcs', default: 'YES', summary: 'require a valid 802.11 frame check sequence', scanner: 'wifiviz' },
  { name: 'packet-buffer-timeout', default: '10', summary: "libpcap's read timeout in milliseconds, 1 to 10000 (live capture)" },
];

export const PARAM_NOTE = 'A yes/no value is yes when it starts with Y, y, T, t or 1.';

export interface ScannerDoc {
  name: string;
  enabledByDefault: boolean;
  /** -H's description. */
  description: string;
  /** tcpflow's scanner (true) or one of tcpflow-ts's own. */
  tcpflow: boolean;
}

/** Every scanner, in processing order (tcpflow's load order, then the plugin scanner). */
export const SCANNERS: readonly ScannerDoc[] = [
  { name: 'md5', enabledByDefault: false, tcpflow: true, description: 'MD5 (and with -S hash, SHA-256) of every flow file, in the report' },
  { name: 'http', enabledByDefault: false, tcpflow: true, description: 'HTTP bodies of each response as -HTTPBODY-nnn files, decompressed unless -Z' },
  { name: 'netviz', enabledByDefault: false, tcpflow: true, description: 'one-page picture of the traffic: outdir/report.svg and report.html' },
  { name: 'tcpdemux', enabledByDefault: true, tcpflow: true, description: 'TCP reassembly: writes the flows (turning it off writes none)' },
  { name: 'wifiviz', enabledByDefault: false, tcpflow: true, description: '802.11 beacon counts in the report' },
  { name: 'js', enabledByDefault: false, tcpflow: false, description: 'calls a JavaScript function on every flow; its result goes in the report' },
];

/** -F letters: [letter, meaning]. */
export const FORMAT_LETTERS: readonly (readonly [string, string])[] = [
  ['c', 'append the connection counter to every file name, c0 for the first connection'],
  ['t', "prepend the flow's start time as Unix seconds and a T to every file name"],
  ['T', "prepend the flow's start time in ISO 8601 (UTC) to every file name"],
  ['X', 'do not write flow files (the report is still written)'],
  ['M', 'calculate the MD5 of every flow (in the report)'],
  ['k', 'bin files in directories of 1000 flow numbers (%K/)'],
  ['m', 'bin files in 2 levels of directories (1M flow numbers)'],
  ['g', 'bin files in 3 levels of directories (1G flow numbers)'],
];

/** -T escapes: [escapes as written, meaning]. */
export const TEMPLATE_ESCAPES: readonly (readonly [string, string])[] = [
  ['%A/%a', 'source IP address/port'],
  ['%B/%b', 'destination IP address/port'],
  ['%E/%e', 'source/destination Ethernet MAC address (empty on other links)'],
  ['%V/%v', "'--'/the VLAN id if the flow's first packet is VLAN-tagged, else '' (12 bits, of the innermost tag of a QinQ stack)"],
  ['%T/%t', "flow start time in ISO 8601 format/Unix seconds"],
  ['%c', 'connection counter if above 0 (the second connection with a name gets 1)'],
  ['%C', "'c' if the connection counter is above 0"],
  ['%#', 'connection counter, always (0 for the first)'],
  ['%N', 'flow number % 1000'],
  ['%K', '(flow number / 1000) % 1000'],
  ['%M', '(flow number / 1000000) % 1000'],
  ['%G', '(flow number / 1000000000) % 1000'],
  ['%S', 'session ID (20 digits)'],
  ['%%', "a '%'"],
];

/** What "flow number" means, for both renderings (spec B35). */
export const FLOW_NUMBER_NOTE = "A flow's number is the index (from 0) of its first packet in the input, so it is the same for any number of workers.";

/** Exit statuses: [status(es), meaning]. */
export const EXIT_STATUSES: readonly (readonly [string, string])[] = [
  [String(EXIT.OK), 'success (also after -h and -V)'],
  [String(EXIT.INPUT), 'input error: missing, unreadable, corrupt or truncated capture, unknown link type (the other inputs are still read), a bad filter expression, an interface that cannot be opened'],
  [String(EXIT.USAGE), 'usage error: bad option or value, or a feature not implemented yet'],
  [String(EXIT.OUTPUT), 'output error: the output directory, a file or the report cannot be written'],
  [String(EXIT.WORKER), 'a worker thread failed, or an internal error (a bug: "internal error (please report)" and where it was thrown)'],
  [`${EXIT.SIGHUP}/${EXIT.SIGINT}/${EXIT.SIGTERM}`, 'reading files interrupted by SIGHUP/SIGINT/SIGTERM (flows seen so far are written); a live capture stopped by a signal exits 0'],
  [String(EXIT.STDOUT_CLOSED), 'standard output closed by its reader (| head): reading stops, quietly'],
];

/** What the renderers need to know about the build: what is not implemented yet. */
export interface Features {
  /** OptionDoc keys: option letters, long-only names, 'expression' */
  notImplemented: ReadonlySet<string>;
  /** -S names tcpflow has that are refused */
  notImplementedParams: ReadonlySet<string>;
  /** -e scanner names that work */
  implementedScanners: ReadonlySet<string>;
}

export const NOT_IMPLEMENTED_NOTE = ' (not implemented yet)';

/** A summary with `{range}` and `{scanners}` filled in. */
export function fillSummary(text: string, range: WholeRange | undefined, features: Features): string {
  const scanners = [...features.implementedScanners].filter((s) => s !== 'all' && s !== 'tcpdemux').sort().join(', ') || 'none';
  return text.replace('{range}', range === undefined ? '' : `${range.min} to ${range.max}`).replace('{scanners}', scanners);
}

/** An option's summary as both renderings print it. */
export function optionSummary(o: OptionDoc, features: Features): string {
  return fillSummary(o.summary, WHOLE_NUMBER_OPTIONS[o.key], features) + (features.notImplemented.has(o.key) ? NOT_IMPLEMENTED_NOTE : '');
}

/** A parameter's summary as both renderings print it. */
export function paramSummary(p: ParamDoc, features: Features): string {
  return fillSummary(p.summary, p.range, features) + (features.notImplementedParams.has(p.name) ? NOT_IMPLEMENTED_NOTE : '');
}

/**
 * The usage synopsis as words: the flags without an argument bundled, then each option with
 * its argument, long-only options, the expression.
 */
export function synopsisWords(): string[] {
  const all = OPTION_SECTIONS.flatMap((s) => s.options);
  const order = (a: OptionDoc, b: OptionDoc) => {
    const x = a.flags[0], y = b.flags[0];
    return x.toLowerCase() < y.toLowerCase() ? -1 : x.toLowerCase() > y.toLowerCase() ? 1 : x < y ? 1 : -1;
  };
  const short = all.filter((o) => o.flags.length > 0 && o.flags[0].length === 2).sort(order);
  const bundle = short.filter((o) => o.arg === undefined).map((o) => o.flags[0][1]).join('');
  return [
    `[-${bundle}]`,
    ...short.filter((o) => o.arg !== undefined).map((o) => `[${o.flags[0]} ${o.arg}]`),
    ...all.filter((o) => o.flags.length > 0 && o.flags[0].startsWith('--')).map((o) => o.arg === undefined ? `[${o.flags[0]}]` : `[${o.flags[0]} ${o.arg}]`),
    '[expression]',
  ];
}
