/** Address text forms used in file names and in the report. */
import { lazyTable } from './lazy-table';

/** 0-255 as three digits. */
const pad3 = lazyTable(256, (i) => String(i).padStart(3, '0'));

/** Dotted quad with every octet as 3 digits (tcpflow file names). */
export function ipv4Padded(a: Uint8Array, off = 0): string {
  return `${pad3(a[off])}.${pad3(a[off + 1])}.${pad3(a[off + 2])}.${pad3(a[off + 3])}`;
}

export function ipv4Text(a: Uint8Array, off = 0): string {
  return `${a[off]}.${a[off + 1]}.${a[off + 2]}.${a[off + 3]}`;
}

/** IPv6 text exactly as glibc's inet_ntop writes it (names must match tcpflow's). */
export function ipv6Text(a: Uint8Array, off = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((a[off + 2 * i] << 8) | a[off + 2 * i + 1]);
  // Longest run of zero words (first one on ties); runs shorter than 2 are not compressed.
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) { curBase = i; curLen = 1; } else curLen++;
      if (curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    // Embedded IPv4: ::a.b.c.d and ::ffff:a.b.c.d
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      s += ipv4Text(a, off + 12);
      break;
    }
    s += words[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

export function addrText(a: Uint8Array, off = 0, len = a.length - off): string {
  return len === 4 ? ipv4Text(a, off) : ipv6Text(a, off);
}

/** The address as it appears in default file names (%A / %B). */
export function addrName(a: Uint8Array, off = 0, len = a.length - off): string {
  return len === 4 ? ipv4Padded(a, off) : ipv6Text(a, off);
}

/** A byte value as two lowercase hex digits. */
export const hex2 = lazyTable(256, (i) => i.toString(16).padStart(2, '0'));
/**
 * The last two MACs written, as 6 bytes each, and their text: a capture's flows mostly
 * share a few, and every record names two.
 */
const macSeen = new Uint8Array(12);
const macSeenText = ['00:00:00:00:00:00', '00:00:00:00:00:00'];
let macNext = 0;

export function macText(a: Uint8Array, off: number): string {
  for (let k = 0; k < 2; k++) {
    const o = 6 * k;
    if (a[off] === macSeen[o] && a[off + 1] === macSeen[o + 1] && a[off + 2] === macSeen[o + 2] &&
        a[off + 3] === macSeen[o + 3] && a[off + 4] === macSeen[o + 4] && a[off + 5] === macSeen[o + 5]) return macSeenText[k];
  }
  const k = macNext;
  macNext ^= 1;
  for (let i = 0; i < 6; i++) macSeen[6 * k + i] = a[off + i];
  return macSeenText[k] = `${hex2(a[off])}:${hex2(a[off + 1])}:${hex2(a[off + 2])}:${hex2(a[off + 3])}:${hex2(a[off + 4])}:${hex2(a[off + 5])}`;
}
