/**
 * The -h / -hh text: tcpflow 1.6.1's usage text (spec §1.6) naming tcpflow-ts, plus our own
 * options and exit statuses. Each line may name the feature it documents; a line whose feature
 * is not implemented yet says so, so the text stays accurate as features arrive.
 */

import { DEFAULT_MAX_FLOWS } from '../src/flow/buckets';
import { VERSION_LINE } from '../src/version';

/**
 * -V output. tcpflow prints `TCPFLOW 1.6.1`, its report's <program> and <version>; ours names
 * this program and its version (the report's too) and says what it is compatible with.
 */
export const VERSION_TEXT = `${VERSION_LINE}\n`;

export interface HelpFeatures {
  /** option letters, long-only names and pseudo-features ('expression') not implemented yet */
  notImplemented: ReadonlySet<string>;
  /** -e scanner names that work */
  implementedScanners: ReadonlySet<string>;
}

/** [feature key or '' for none, text] */
type Line = readonly [string, string];
const NI = ' (not implemented yet)';

// The scanner names of the -hh lists; key 'scanner:<name>' is checked against implementedScanners.
const SCANNER_LINES: Line[] = [
  ['', 'These scanners disabled by default; enable with -e:'],
  ['scanner:http', '   -e http - enable scanner http'],
  ['scanner:md5', '   -e md5 - enable scanner md5'],
  ['scanner:netviz', '   -e netviz - enable scanner netviz'],
  ['scanner:wifiviz', '   -e wifiviz - enable scanner wifiviz'],
  ['', ''],
  ['x', 'These scanners enabled by default; disable with -x:'],
  ['', '   -x tcpdemux - disable scanner tcpdemux'],
];

const HEAD: Line[] = [
  ['', VERSION_LINE],
  ['', ''],
  ['', 'usage: tcpflow-ts [-aBcCDhIPpsvVZ] [-b max_bytes] [-d debug_level] '],
  ['', '     [-[eE] scanner] [-f max_fds] [-F[ctTXMkmg]] [-h|--help] [-i iface]'],
  ['', '     [-l files...] [-L semlock] [-m min_bytes] [-o outdir] [-r file] [-R file]'],
  ['', '     [-S name=value] [-T template] [-U|--relinquish-privileges user] [-v|--verbose]'],
  ['', '     [-w file] [-x scanner] [-X xmlfile] [-z|--chroot dir] [--workers N] [--jsonl file] [expression]'],
  ['', ''],
  ['a', '   -a: do ALL post-processing.'],
  ['A', '   -A x: deprecated: a warning, no other effect'],
  ['b', '   -b max_bytes: max number of bytes per flow to save'],
  ['d', '   -d debug_level: debug level; default is 1'],
  ['f', '   -f: maximum number of file descriptors to use'],
  ['h', '   -h: print this help message (-hh for more help)'],
  ['H', '   -H: print detailed information about each scanner'],
  ['i', '   -i: network interface on which to listen'],
  ['I', '   -I: write for each flow another file *.findx to provide byte-indexed timestamps'],
  ['g', '   -g: output each flow in alternating colors (note change!)'],
  ['l', '   -l: treat non-flag arguments as input files rather than a pcap expression'],
  ['L', '   -L  semlock - specifies that console writes (-c/-C) are locked using a lock file'],
  ['L', "                 (semlock with a '/': its path; else <tmpdir>/tcpflow-ts-semlock.lock)"],
  ['p', "   -p: don't use promiscuous mode"],
  ['P', '   -P: no purge: accepted and ignored (closed flows are always purged from memory)'],
  ['q', '   -q: quiet mode - do not print warnings'],
  ['r', '   -r file      : read packets from tcpdump pcap file (may be repeated)'],
  ['R', '   -R file      : read packets from tcpdump pcap file TO FINISH CONNECTIONS'],
  ['v', '   -v           : verbose operation equivalent to -d 10'],
  ['V', '   -V           : print version number and exit'],
  ['w', '   -w  file     : write packets not processed to file'],
  ['o', "   -o  outdir   : specify output directory (default '.')"],
  ['X', '   -X  filename : DFXML output to filename'],
  ['m', '   -m  bytes    : specifies skip that starts a new stream (default 16777216).'],
  ['', '   -F{p} : filename prefix/suffix (-hh for options)'],
  ['T', '   -T{t} : filename template (-hh for options; default %A.%a-%B.%b%V%v%C%c)'],
  ['Z', '   -Z       do not decompress gzip-compressed HTTP transactions'],
  ['K', '   -K: output|keep pcap flow structure.'],
  ['workers', '   --workers N  : worker threads (default: number of CPUs)'],
  ['jsonl', '   --jsonl file : also write the report as JSON Lines to file (one object per flow, then a summary)'],
  ['', ''],
  ['', 'Security:'],
  ['U', '   -U user  relinquish privleges and become user (if running as root)'],
  ['z', '   -z dir   chroot to dir (requires that -U be used).'],
  ['', ''],
  ['', 'Control of Scanners:'],
  // -e and -x have no line in tcpflow's text; ours adds them because only some scanners work.
  ['e', '   -e scanner   - enable scanner (scanners implemented: %SCANNERS%)'],
  ['E', '   -E scanner   - turn off all scanners except scanner'],
  ['x', '   -x scanner   - turn off scanner'],
  ['S', '   -S name=value  Set a configuration parameter (-hh for info)'],
];

// -hh inserts this after "Control of Scanners" (tab after the first group's defaults: verbatim).
const PARAMS: Line[] = [
  ['', 'Activated options -S name=value:'],
  ['', '   -S tdelta=0\tTime delta in seconds'],
  ['', '   -S packet-buffer-timeout=10\tTime in milliseconds between each callback from libpcap'],
  ['', ''],
  ['', 'Settable Options (and their defaults): '],
  ['', '   -S enable_report=YES    Enable report.xml ()'],
  ['', '   -S http_cmd=    Command to execute on each HTTP attachment (http)'],
  ['', '   -S http_alert_fd=-1    File descriptor to send information about completed HTTP attachments (http)'],
  ['', '   -S netviz_histogram_dump=0    Dumps the histogram (netviz)'],
  ['', '   -S netviz_histogram_size=1000    Maximum histogram size (netviz)'],
  ['', '   -S tcp_timeout=0    Timeout for TCP connections (tcpdemux)'],
  // tcpflow-ts's own: the open-flow cap (README, "Resource bounds").
  ['', `   -S max_flows=${DEFAULT_MAX_FLOWS}    Open flows kept; past it the least recently seen are closed (tcpdemux)`],
  ['', '   -S tcp_cmd=    Command to execute on each TCP flow (tcpdemux)'],
  ['', '   -S tcp_alert_fd=-1    File descriptor to send information about completed TCP flows (tcpdemux)'],
  ['', '   -S check_fcs=YES    Require valid Frame Check Sum (FCS) (wifiviz)'],
  ['', ''],
  ...SCANNER_LINES,
];

const CONSOLE: Line[] = [
  ['', ''],
  ['', 'Console output options:'],
  ['B', '   -B: binary output, even with -c or -C (normally -c or -C turn it off)'],
  ['c', "   -c: console print only (don't create files)"],
  ['C', '   -C: console print only, but without the display of source/dest header'],
  ['0', "   -0: don't print newlines after packets when printing to console"],
  ['s', "   -s: strip non-printable characters (change to '.')"],
  ['J', '   -J: output json format.'],
  ['D', '   -D: output in hex (useful to combine with -c or -C)'],
  ['', ''],
  ['expression', 'expression: tcpdump-like filtering expression'],
  ['', ''],
  ['', 'Exit status:'],
  ['', '   0        success (also after -h and -V)'],
  ['', '   1        input error: missing, unreadable, corrupt or truncated capture; unknown link type'],
  ['', '   2        usage error: bad option or argument, or a feature not implemented yet'],
  ['', '   3        output error: the output directory or a file cannot be written'],
  ['', '   4        a worker thread failed'],
  ['', '   130/143  interrupted by SIGINT/SIGTERM'],
  ['', '   141      standard output closed by its reader (`| head`): reading stops, quietly'],
  ['', ''],
  ['', 'See the man page for additional information.'],
  ['', ''],
];

// -hh appends this. tcpflow's "Current limitations" (getdtablesize) part is left out.
const FILENAMES: Line[] = [
  ['F', 'Filename Prefixes:'],
  ['', '   -Fc : append the connection counter to ALL filenames'],
  ['', '   -Ft : prepend the time_t UTC timestamp to ALL filenames'],
  ['', '   -FT : prepend the ISO8601 UTC timestamp to ALL filenames'],
  ['', '   -FX : Do not output any files (other than report files)'],
  ['', '   -FM : Calculate the MD5 for every flow (stores in DFXML)'],
  ['', '   -Fk : Bin output in 1K directories'],
  ['', '   -Fm : Bin output in 1M directories (2 levels)'],
  ['', '   -Fg : Bin output in 1G directories (3 levels)'],
  ['', ''],
  ['T', 'Filename template format for option -T:'],
  ['', '  %A/%a - source IP address/port;          %B/%b - dest IP address/port'],
  ['', '  %E/%e - source/dest Ethernet Mac address'],
  ['', "  %V/%v - VLAN number, '--' if no vlan/'' if no vlan"],
  ['', '  %T/%t - Timestamp in ISO8601 format/unix time_t'],
  ['', "  %c - connection_count for connections>0 / %# for all connections;  %C - 'c' if connection_count >0"],
  ['', '  %N - (connection_number )             % 1000'],
  ['', '  %K - (connection_number / 1000)       % 1000'],
  ['', '  %M - (connection_number / 1000000)    % 1000'],
  ['', '  %G - (connection_number / 1000000000) % 1000'],
  ['', '  %S - session ID'],
  ['', "  %% - Output a '%'"],
  ['', ''],
  ['', "Default value is: '%A.%a-%B.%b%V%v%C%c'"],
  ['', ''],
  ['', 'Note: Using the option -T will ignore options -Fk, -Fm and -Fg.'],
  ['', "      Filename template format handles '/' to create sub-directories."],
];

/** The usage text for -h repeated `level` times (2 and more add the -hh parts), ending in a newline. */
export function helpText(level: number, features: HelpFeatures): string {
  const lines = level >= 2 ? [...HEAD, ['', ''] as const, ...PARAMS, ...CONSOLE, ...FILENAMES] : [...HEAD, ...CONSOLE];
  const scanners = [...features.implementedScanners].sort().join(', ') || 'none';
  return lines
    .map(([key, text]) => {
      const missing = key.startsWith('scanner:')
        ? !features.implementedScanners.has(key.slice('scanner:'.length))
        : features.notImplemented.has(key);
      return text.replace('%SCANNERS%', scanners) + (missing ? NI : '') + '\n';
    })
    .join('');
}
