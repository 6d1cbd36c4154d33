import type { ConsoleOptions } from '../options';
import { Direction, Flow } from '../flow/flow';
import { addrText, hex2 } from '../util/address';

const BLUE = '\x1b[0;34m';
const RED = '\x1b[0;31m';
const RESET = '\x1b[0m';

/** tcpflow's strip rule: printable ASCII, CR and LF as they are, anything else as '.'. */
function stripped(data: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len; i++) {
    const c = data[i];
    s += (c >= 0x20 && c <= 0x7e) || c === 0x0a || c === 0x0d ? String.fromCharCode(c) : '.';
  }
  return s;
}

/** Raw bytes as a latin1 string (written back out as latin1: byte for byte). */
function raw(data: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len; i += 8192) {
    s += String.fromCharCode(...data.subarray(i, Math.min(off + len, i + 8192)));
  }
  return s;
}

/** -D: 32 bytes a line, hex pairs grouped by two, padded to the widest line of this packet. */
function hexDump(data: Uint8Array, off: number, len: number): string {
  let out = '';
  let width = 0;
  for (let line = 0; line < len; line += 32) {
    const n = Math.min(32, len - line);
    let hex = '';
    let text = '';
    for (let i = 0; i < n; i++) {
      const c = data[off + line + i];
      hex += hex2(c);
      if (i % 2 === 1) hex += ' ';
      text += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '.';
    }
    width = Math.max(width, hex.length);
    out += `${line.toString(16).padStart(4, '0')}: ${hex.padEnd(width)} ${text}\n`;
  }
  return out;
}

/** -J: built from the flow's own addresses (spec B20: tcpflow parsed them back out of the name). */
function json(flow: Flow, data: Uint8Array, off: number, len: number): string {
  const bytes: number[] = [];
  for (let i = off; i < off + len; i++) bytes.push(data[i]);
  return `{"src_host":"${addrText(flow.src)}","src_port":${flow.sport},"dst_host":"${addrText(flow.dst)}",` +
    `"dst_port":${flow.dport},"payload": [${bytes.join(',')}]}`;
}

/**
 * One segment's console output (spec §6.4), as a latin1 string: colour, `name: `
 * header, the payload in the chosen form, colour reset, newline.
 */
export function renderConsole(o: ConsoleOptions, flow: Flow, name: string, data: Uint8Array, off: number, len: number): string {
  let s = '';
  if (o.color) s += flow.direction === Direction.CLIENT_TO_SERVER ? BLUE : RED;
  if (o.header) s += o.hex ? `${name}: \n` : `${name}: `;
  if (o.hex) s += hexDump(data, off, len);
  else if (o.json) s += json(flow, data, off, len);
  else if (o.binary) s += raw(data, off, len);
  else s += stripped(data, off, len);
  if (o.color) s += RESET;
  if (o.newline) s += '\n';
  return s;
}
