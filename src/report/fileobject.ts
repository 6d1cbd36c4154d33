import type { Flow } from '../flow/flow';
import { addrText, macText } from '../output/address';
import { escapeXml, isoTime } from './xml-text';

function macAttr(name: string, mac: Uint8Array, off: number): string {
  for (let i = 0; i < 6; i++) {
    // All-zero addresses (Linux loopback) are left out, as tcpflow does.
    if (mac[off + i] !== 0) return ` ${name}='${macText(mac, off)}'`;
  }
  return '';
}

/**
 * One flow's <fileobject> record (spec §4.2), rendered in the worker that owns the
 * flow: the coordinator only concatenates these in a deterministic order.
 */
export function renderFileobject(flow: Flow, md5: string | null, filename: string | null = flow.file.path): string {
  let s = '    <fileobject>\n';
  if (filename !== null) s += `      <filename>${escapeXml(filename)}</filename>\n`;
  s += `      <filesize>${flow.lastByte}</filesize>\n`;
  s += `      <tcpflow startime='${isoTime(flow.startSec, flow.startUsec)}' endtime='${isoTime(flow.lastSec, flow.lastUsec)}'`;
  if (flow.mac !== null) s += macAttr('mac_daddr', flow.mac, 0) + macAttr('mac_saddr', flow.mac, 6);
  s += ` family='${flow.family}' src_ipn='${addrText(flow.src)}' dst_ipn='${addrText(flow.dst)}'`;
  s += ` srcport='${flow.sport}' dstport='${flow.dport}' packets='${flow.packets}'`;
  if (flow.outOfOrder > 0) s += ` out_of_order_count='${flow.outOfOrder}'`;
  if (flow.violations > 0) s += ` violations='${flow.violations}'`;
  s += ` len='${flow.len}'`;
  if (flow.caplen !== flow.len) s += ` caplen='${flow.caplen}'`;
  s += ' />\n';
  if (md5 !== null) s += `      <hashdigest type='MD5'>${md5}</hashdigest>\n`;
  s += '    </fileobject>\n';
  return s;
}
