import type { FlowRecord } from './flow-record';
import { escapeXml } from './xml-text';

const attr = (name: string, v: string | number | undefined) => (v === undefined ? '' : ` ${name}='${v}'`);

/**
 * One flow's <fileobject> (spec §4.2), rendered from its record by the coordinator's
 * DFXML sink. Addresses, MACs and times are made of safe characters; only the file
 * name, which a template and the output directory shape, needs escaping.
 */
export function renderFileobject(r: FlowRecord): string {
  let s = '    <fileobject>\n';
  if (r.filename !== undefined) s += `      <filename>${escapeXml(r.filename)}</filename>\n`;
  s += `      <filesize>${r.filesize}</filesize>\n`;
  s += `      <tcpflow startime='${r.startime}' endtime='${r.endtime}'${attr('mac_daddr', r.mac_daddr)}${attr('mac_saddr', r.mac_saddr)}`;
  s += ` family='${r.family}' src_ipn='${r.src_ipn}' dst_ipn='${r.dst_ipn}'`;
  s += ` srcport='${r.srcport}' dstport='${r.dstport}' packets='${r.packets}'`;
  s += `${attr('out_of_order_count', r.out_of_order_count)}${attr('violations', r.violations)} len='${r.len}'${attr('caplen', r.caplen)}`;
  s += ' />\n';
  if (r.md5 !== undefined) s += `      <hashdigest type='MD5'>${r.md5}</hashdigest>\n`;
  s += '    </fileobject>\n';
  return s;
}
