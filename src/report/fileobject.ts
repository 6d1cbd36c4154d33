import type { ByteRun, FlowRecord } from './flow-record';
import { escapeXml } from './xml-text';
import { SHARD_PREFIX } from './shard-info';
import { Field, LineTemplate, type Part } from './spill-line';

/** The flow's VLAN (FlowRecord.vlan), in a namespace of our own: tcpflow's report has none. */
const VLAN_ELEMENT = "tcpflow-ts:vlan xmlns:tcpflow-ts='tag:tcpflow-ts,2026:flow'";

const attr = (name: string, v: string | number | undefined) => (v === undefined ? '' : ` ${name}='${v}'`);

/** The js plugin the run uses, named in each of its results (as tcpflow's python scanner named its module). */
export interface PluginNames {
  module: string;
  function: string;
}

/**
 * One flow's <fileobject> (spec §4.2), rendered from its record by the coordinator's
 * DFXML sink. Addresses, MACs and times are made of safe characters; only the file
 * name, which a template and the output directory shape, and a plugin's result need
 * escaping.
 */
export function renderFileobject(r: FlowRecord, plugin: PluginNames | null = null): string {
  let s = '    <fileobject>\n';
  if (r.filename !== undefined) s += `      <filename>${escapeXml(r.filename)}</filename>\n`;
  s += `      <filesize>${r.filesize}</filesize>\n`;
  s += `      <tcpflow startime='${r.startime}' endtime='${r.endtime}'${attr('mac_daddr', r.mac_daddr)}${attr('mac_saddr', r.mac_saddr)}`;
  s += ` family='${r.family}' src_ipn='${r.src_ipn}' dst_ipn='${r.dst_ipn}'`;
  s += ` srcport='${r.srcport}' dstport='${r.dstport}' packets='${r.packets}'`;
  s += `${attr('out_of_order_count', r.out_of_order_count)}${attr('violations', r.violations)} len='${r.len}'${attr('caplen', r.caplen)}`;
  s += ' />\n';
  // Not an attribute of tcpflow's element: a DFXML reader keeps it, an extension element it skips.
  if (r.vlan !== undefined) s += `      <${VLAN_ELEMENT} id='${r.vlan}'/>\n`;
  // Scanner output is one raw chunk at the children's indentation (spec §4.2): md5 then
  // http, whose part starts with a line end, so http alone leaves a line of six spaces.
  if (r.md5 !== undefined || r.byte_runs !== undefined) {
    s += '      ';
    if (r.md5 !== undefined) s += `<hashdigest type='MD5'>${r.md5}</hashdigest>`;
    if (r.byte_runs !== undefined) s += renderByteRuns(r.byte_runs);
    s += '\n';
  }
  if (r.sha256 !== undefined) s += `      <hashdigest type='SHA256'>${r.sha256}</hashdigest>\n`;
  if (r.js !== undefined || r.js_error !== undefined) s += pluginResult(r, plugin);
  // --shard runs: where the record goes in the merged report (merge-reports drops the line).
  if (r.first_packet !== undefined) {
    s += `      <${SHARD_PREFIX}:record first_packet='${r.first_packet}'${attr('file_packet', r.file_packet)}${attr('close_packet', r.close_packet)}/>\n`;
  }
  s += '    </fileobject>\n';
  return s;
}

function renderByteRuns(runs: readonly ByteRun[]): string {
  let s = '\n    <byte_runs>\n';
  for (const b of runs) {
    s += `     <byte_run file_offset='${b.file_offset}'><fileobject><filename>${escapeXml(b.filename)}</filename>` +
      `<filesize>${b.filesize}</filesize>${b.error === undefined ? '' : `<error>${escapeXml(b.error)}</error>`}</fileobject></byte_run>\n`;
  }
  return s + '    </byte_runs>';
}

/**
 * tcpflow's scanner result element (spec §8.4: `<tcpflow:result scan="python" ...>`), with
 * its namespace declared on it, as the report's root declares none. A string result is
 * its text; any other value its JSON; a failure an `error` attribute and no text.
 */
function pluginResult(r: FlowRecord, plugin: PluginNames | null): string {
  const names = plugin === null ? '' : ` module='${escapeXml(plugin.module)}' function='${escapeXml(plugin.function)}'`;
  const open = `      <tcpflow:result xmlns:tcpflow='http://afflib.org/tcpflow/' scan='js'${names}`;
  if (r.js_error !== undefined) return `${open} error='${escapeXml(r.js_error)}' />\n`;
  const text = typeof r.js === 'string' ? r.js : JSON.stringify(r.js);
  return `${open}>${escapeXml(text)}</tcpflow:result>\n`;
}

/** An attribute of the <tcpflow> element, from the line's field of the same name. */
function attrPart(field: Field, name: string, optional = false): Part {
  return { field, optional, before: ` ${name}='`, after: "'" };
}

/**
 * renderFileobject(line.record()) as UTF-8, from a plain line (SpillLine): the same
 * markup around the line's fields, copied as they are (nothing in a plain line needs
 * escaping, its numbers are String(n)'s, and it has no byte runs, plugin result or
 * --shard keys).
 */
export const FILEOBJECT_LINE = new LineTemplate([
  { field: Field.filename, optional: true, before: '    <fileobject>\n      <filename>', after: '</filename>\n', absent: '    <fileobject>\n' },
  { field: Field.filesize, before: '      <filesize>', after: '</filesize>\n' },
  { field: Field.startime, before: "      <tcpflow startime='", after: "'" },
  attrPart(Field.endtime, 'endtime'),
  attrPart(Field.mac_daddr, 'mac_daddr', true),
  attrPart(Field.mac_saddr, 'mac_saddr', true),
  attrPart(Field.family, 'family'),
  attrPart(Field.src_ipn, 'src_ipn'),
  attrPart(Field.dst_ipn, 'dst_ipn'),
  attrPart(Field.srcport, 'srcport'),
  attrPart(Field.dstport, 'dstport'),
  attrPart(Field.packets, 'packets'),
  attrPart(Field.out_of_order_count, 'out_of_order_count', true),
  attrPart(Field.violations, 'violations', true),
  attrPart(Field.len, 'len'),
  { field: Field.caplen, optional: true, before: " caplen='", after: "' />\n", absent: ' />\n' },
  { field: Field.vlan, optional: true, before: `      <${VLAN_ELEMENT} id='`, after: "'/>\n" },
  { field: Field.md5, optional: true, before: "      <hashdigest type='MD5'>", after: '</hashdigest>\n' },
  { field: Field.sha256, optional: true, before: "      <hashdigest type='SHA256'>", after: '</hashdigest>\n' },
], '    </fileobject>\n');
