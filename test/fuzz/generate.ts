/**
 * Generated seed captures whose TCP payload is known: connections over every link type
 * the decoder supports, IPv4 (with options) and IPv6 (with extension headers), VLAN
 * stacks, pcap in both byte orders and resolutions, pcapng with several interfaces and
 * sections. Each direction's bytes follow a non-zero pattern, and each seed lists the
 * file every direction must give (holes as zeros) when the capture is not mutated.
 */
import { LINKTYPE } from '../../src/decode/link';
import { Ng, pcapFile } from '../helpers/capture-files';
import {
  ACK, destOpts, ether, FIN, hopByHop, ipv4, ipv6, MAC_CLIENT, MAC_SERVER, nullFrame, ppp, pppoe, PSH, RST, sll, sll2, SYN, tcp,
} from '../helpers/packets';
import { Rng } from '../flow/rng';

/** The file one direction must produce: identified by ports, final ISN and (if given) VLAN. */
export interface ExpectedFile {
  sport: number;
  dport: number;
  isn: number;
  /** The VLAN id its name carries (-1: none); unchecked when absent. */
  vlan?: number;
  content: Uint8Array;
}

export interface GeneratedSeed {
  name: string;
  bytes: Uint8Array;
  expected: ExpectedFile[];
}

/** How a connection's IP packets are framed. */
interface Link {
  dlt: number;
  v6: boolean;
  /** Extra IPv4 options / IPv6 extension headers. */
  ipExtras?: boolean;
  vlan?: { tpid: number; tci: number }[];
  frame(ip: Uint8Array, fromClient: boolean): Uint8Array;
  /** pcapng interface id. */
  iface?: number;
}

interface ConnSpec {
  link: Link;
  cport: number;
  sport: number;
  isnC: number;
  isnS: number;
  /** Client and server data segment sizes. */
  client: number[];
  server: number[];
  handshake?: boolean;
  close?: 'fin' | 'rst' | 'none';
  /** Client SYN carries this many bytes of the client stream (TFO). */
  synData?: number;
  /** Swap adjacent server segments. */
  reorder?: boolean;
  /** Send some segments twice (identical bytes). */
  retransmit?: boolean;
  /** Drop client segment 1 (a hole of zeros in the file). */
  hole?: boolean;
  /** Resend the first client segment after the close (a straggler). */
  straggler?: boolean;
  /** TCP options (timestamps) on every segment. */
  tcpOptions?: boolean;
  /** The VLAN id each direction's flow must be named by (client side, server side). */
  vlans?: [number, number];
}

export interface Packet {
  frame: Uint8Array;
  dlt: number;
  iface: number;
}

/** Stream byte k of a direction: never zero, different per direction. */
function pattern(len: number, salt: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let k = 0; k < len; k++) out[k] = 1 + ((k * 7 + salt * 31 + (k >> 8)) % 255);
  return out;
}

let saltCounter = 1;

function conn(s: ConnSpec, expected: ExpectedFile[]): Packet[] {
  const link = s.link;
  const cTotal = s.client.reduce((a, b) => a + b, 0) + (s.synData ?? 0);
  const sTotal = s.server.reduce((a, b) => a + b, 0);
  const cs = pattern(cTotal, saltCounter++);
  const ss = pattern(sTotal, saltCounter++);
  const [ca, sa] = link.v6 ? ['2001:db8::1', '2001:db8::2'] : ['10.0.0.1', '10.0.0.2'];
  const tcpOpts = s.tcpOptions ? [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] : [];
  const mk = (fromClient: boolean, seq: number, flags: number, payload: Uint8Array): Packet => {
    const seg = tcp({
      sport: fromClient ? s.cport : s.sport, dport: fromClient ? s.sport : s.cport,
      seq: seq >>> 0, ack: 0, flags, payload, options: tcpOpts,
    });
    const src = fromClient ? ca : sa, dst = fromClient ? sa : ca;
    const ip = link.v6
      ? ipv6(seg, { src, dst, ext: link.ipExtras ? [hopByHop(), destOpts([1, 2, 0, 0])] : [] })
      : ipv4(seg, { src, dst, options: link.ipExtras ? [1, 1, 1, 0] : [], df: true });
    return { frame: link.frame(ip, fromClient), dlt: link.dlt, iface: link.iface ?? 0 };
  };
  const handshake = s.handshake ?? true;
  const synData = s.synData ?? 0;
  const out: Packet[] = [];
  if (handshake) {
    out.push(mk(true, s.isnC, SYN, cs.subarray(0, synData)));
    out.push(mk(false, s.isnS, SYN | ACK, new Uint8Array(0)));
    out.push(mk(true, s.isnC + 1 + synData, ACK, new Uint8Array(0)));
  }
  const segsOf = (fromClient: boolean, sizes: number[], stream: Uint8Array, isn: number, first: number): Packet[] => {
    const ps: Packet[] = [];
    let at = first;
    sizes.forEach((n, i) => {
      const p = mk(fromClient, isn + 1 + at, ACK | PSH, stream.subarray(at, at + n));
      if (!(fromClient && s.hole && i === 1)) ps.push(p);
      if (s.retransmit && i % 3 === 2) ps.push(p);
      at += n;
    });
    return ps;
  };
  const cp = segsOf(true, s.client, cs, s.isnC, synData);
  const sp = segsOf(false, s.server, ss, s.isnS, 0);
  if (s.reorder) for (let i = 0; i + 1 < sp.length; i += 3) [sp[i], sp[i + 1]] = [sp[i + 1], sp[i]];
  // Client request first, then the server's answer, as a real exchange goes.
  out.push(...cp, ...sp);
  const close = s.close ?? 'fin';
  if (close === 'fin') {
    out.push(mk(true, s.isnC + 1 + cTotal, FIN | ACK, new Uint8Array(0)));
    out.push(mk(false, s.isnS + 1 + sTotal, FIN | ACK, new Uint8Array(0)));
    out.push(mk(true, s.isnC + 2 + cTotal, ACK, new Uint8Array(0)));
  } else if (close === 'rst') {
    out.push(mk(true, s.isnC + 1 + cTotal, RST | ACK, new Uint8Array(0)));
    out.push(mk(false, s.isnS + 1 + sTotal, RST | ACK, new Uint8Array(0)));
  }
  if (s.straggler && cp.length > 0) out.push(cp[0]);
  const holeAt = s.hole && s.client.length > 1 ? [synData + s.client[0], synData + s.client[0] + s.client[1]] : null;
  const cFile = cs.slice();
  if (holeAt) cFile.fill(0, holeAt[0], holeAt[1]);
  // Without a SYN the ISN is guessed from the earliest data: the byte before it.
  const cIsn = handshake ? s.isnC : (s.isnC + synData) >>> 0;
  const [cVlan, sVlan] = s.vlans ?? [undefined, undefined];
  if (cTotal > 0) expected.push({ sport: s.cport, dport: s.sport, isn: cIsn >>> 0, vlan: cVlan, content: cFile });
  if (sTotal > 0) expected.push({ sport: s.sport, dport: s.cport, isn: s.isnS >>> 0, vlan: sVlan, content: ss });
  return out;
}

/** Interleave connections (each keeps its own order), deterministically. */
function interleave(lists: Packet[][], seed: number): Packet[] {
  const r = new Rng(seed);
  const at = lists.map(() => 0);
  const out: Packet[] = [];
  for (;;) {
    const open = lists.map((l, i) => i).filter((i) => at[i] < lists[i].length);
    if (open.length === 0) return out;
    const i = r.pick(open);
    out.push(lists[i][at[i]++]);
  }
}

// ------------------------------------------------------------ links

const eth = (extra: Partial<Link> = {}, tags: { tpid: number; tci: number }[] = [], padTo?: number): Link => ({
  dlt: LINKTYPE.EN10MB, v6: false, ...extra,
  frame: (ip, c) => ether(ip, { src: c ? MAC_CLIENT : MAC_SERVER, dst: c ? MAC_SERVER : MAC_CLIENT, tags, padTo }),
});

const raw = (dlt: number, v6: boolean, extra: Partial<Link> = {}): Link => ({ dlt, v6, ...extra, frame: (ip) => ip });

// ------------------------------------------------------------ the seeds

function pcapOf(name: string, dlt: number, packets: Packet[], expected: ExpectedFile[], spec: { le?: boolean; nano?: boolean } = {}): GeneratedSeed {
  const bytes = pcapFile(packets.map((p, i) => ({
    frame: p.frame, sec: 1_600_000_000 + (i >> 4), frac: spec.nano ? (i % 16) * 62_500_000 + 7 : (i % 16) * 62_500 + 7,
  })), { linktype: dlt, le: spec.le ?? true, nano: spec.nano });
  return { name, bytes, expected };
}

function seedEthernet(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const l = eth();
  // Short frames padded to 60 bytes: the padding must not become payload (B1).
  const a = conn({ link: eth({}, [], 60), cport: 40001, sport: 80, isnC: 1000, isnS: 900000, client: [120, 80], server: [1400, 1400, 300, 7] }, ex);
  const b = conn({
    link: l, cport: 40002, sport: 8080, isnC: 0xfffffff0, isnS: 77, client: [3, 5, 200], server: [500, 500, 500, 20, 900],
    reorder: true, retransmit: true, tcpOptions: true, straggler: true,
  }, ex);
  const c = conn({ link: l, cport: 40003, sport: 443, isnC: 5, isnS: 0x7fffffff, client: [40], server: [60, 60], close: 'rst' }, ex);
  return pcapOf('gen-ethernet.pcap', LINKTYPE.EN10MB, interleave([a, b, c], 1), ex);
}

function seedVlanIpv6(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const a = conn({
    link: eth({ v6: true, ipExtras: true }, [{ tpid: 0x8100, tci: 14 }]), cport: 50001, sport: 80, isnC: 123456, isnS: 654321,
    client: [300, 20], server: [1000, 1000, 1000],
  }, ex);
  const b = conn({
    link: eth({ v6: true }, [{ tpid: 0x88a8, tci: 0x0123 }, { tpid: 0x8100, tci: 0xe00e }]), cport: 50002, sport: 22,
    isnC: 1, isnS: 2, client: [48, 48, 48, 48], server: [64, 64, 64], retransmit: true, reorder: true,
  }, ex);
  return pcapOf('gen-vlan-ipv6.pcap', LINKTYPE.EN10MB, interleave([a, b], 2), ex, { le: false, nano: true });
}

/**
 * One 4-tuple on two VLANs (the second in a QinQ stack) with the same sequence numbers and
 * different bytes: two flows per direction. And a connection tagged on its client side
 * only (a SPAN port): one flow per direction.
 */
function seedVlanReuse(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const same = { cport: 40000, sport: 80, isnC: 7000, isnS: 9000 };
  const a = conn({ ...same, link: eth({}, [{ tpid: 0x8100, tci: 10 }]), client: [200, 100], server: [700, 300], vlans: [10, 10] }, ex);
  const b = conn({
    ...same, link: eth({}, [{ tpid: 0x88a8, tci: 300 }, { tpid: 0x8100, tci: 0x2014 }]), client: [150, 150], server: [500, 600],
    retransmit: true, vlans: [20, 20],
  }, ex);
  const halfTagged: Link = {
    dlt: LINKTYPE.EN10MB, v6: false,
    frame: (ip, c) => ether(ip, { src: c ? MAC_CLIENT : MAC_SERVER, dst: c ? MAC_SERVER : MAC_CLIENT, tags: c ? [{ tpid: 0x8100, tci: 30 }] : [] }),
  };
  const c = conn({ link: halfTagged, cport: 40001, sport: 80, isnC: 1, isnS: 2, client: [64], server: [128, 128], vlans: [30, -1] }, ex);
  return pcapOf('gen-vlan-reuse.pcap', LINKTYPE.EN10MB, interleave([a, b, c], 3), ex);
}

function seedRawNoSyn(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const l = raw(LINKTYPE.RAW, false, { ipExtras: true });
  const a = conn({ link: l, cport: 1234, sport: 25, isnC: 3_000_000_000, isnS: 10, client: [100, 100, 100, 100], server: [50, 50], handshake: false, hole: true }, ex);
  // Server segments reordered without a SYN: front insertion (B5).
  const b = conn({ link: l, cport: 1235, sport: 25, isnC: 20, isnS: 4_000_000_000, client: [10], server: [30, 30, 30, 30, 30, 30], handshake: false, reorder: true }, ex);
  return pcapOf('gen-raw-nosyn.pcap', LINKTYPE.RAW, interleave([a, b], 3), ex, { le: false });
}

function seedNullIpv6(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const l: Link = { dlt: LINKTYPE.NULL, v6: true, ipExtras: true, frame: (ip) => nullFrame(ip, 30, 'le') };
  const a = conn({ link: l, cport: 60000, sport: 631, isnC: 42, isnS: 4242, client: [10, 2000, 10], server: [4000], synData: 16 }, ex);
  return pcapOf('gen-null-ipv6.pcap', LINKTYPE.NULL, a, ex);
}

function seedSllMpls(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const l: Link = { dlt: LINKTYPE.LINUX_SLL, v6: false, frame: (ip) => sll(ip, 0x8847, [16, 17]) };
  const a = conn({ link: l, cport: 33000, sport: 3306, isnC: 7, isnS: 8, client: [64, 64], server: [256, 256, 256], retransmit: true }, ex);
  return pcapOf('gen-sll-mpls.pcap', LINKTYPE.LINUX_SLL, a, ex, { nano: true });
}

/** Many short connections, one 4-tuple reused with a new ISN (B16). */
function seedMany(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const lists: Packet[][] = [];
  const l = eth();
  for (let k = 0; k < 24; k++) {
    lists.push(conn({
      link: l, cport: 20000 + k, sport: 80, isnC: k * 1_000_003, isnS: k * 7_777_777 + 1,
      client: [20 + k], server: [30 + 2 * k, 10], close: k % 5 === 0 ? 'rst' : k % 7 === 0 ? 'none' : 'fin',
    }, ex));
  }
  const all = interleave(lists, 4);
  // Reuse: a new connection on the 4-tuple of connection 0 after it closed.
  all.push(...conn({ link: l, cport: 20000, sport: 80, isnC: 99_999_999, isnS: 88_888_888, client: [33], server: [44] }, ex));
  return pcapOf('gen-many.pcap', LINKTYPE.EN10MB, all, ex);
}

/** Every other link type, one interface each, in one pcapng section; then a second section. */
function seedPcapng(): GeneratedSeed {
  const ex: ExpectedFile[] = [];
  const links: Link[] = [
    { ...eth({ v6: false }), iface: 0 },
    { dlt: LINKTYPE.LINUX_SLL2, v6: true, frame: (ip) => sll2(ip, 0x86dd), iface: 1 },
    { dlt: LINKTYPE.PPP, v6: false, frame: (ip) => ppp(ip), iface: 2 },
    { dlt: LINKTYPE.PPP_ETHER, v6: false, frame: (ip) => pppoe(ip), iface: 3 },
    { dlt: LINKTYPE.LOOP, v6: false, frame: (ip) => nullFrame(ip, 2, 'be'), iface: 4 },
    { ...raw(LINKTYPE.IPV6, true, { ipExtras: true }), iface: 5 },
    { ...raw(LINKTYPE.IPV4, false), iface: 6 },
  ];
  const lists = links.map((l, k) => conn({
    link: l, cport: 41000 + k, sport: 5000 + k, isnC: 1000 * k + 3, isnS: 0xffffff00 + k,
    client: [100, 50 + k], server: [700, 700, 33], retransmit: k % 2 === 0, reorder: k % 3 === 0,
  }, ex));
  const ng = new Ng();
  ng.shb(false);
  const resol = [9, 0x80 | 20, 6, 3, 0, 12, 0x80 | 10];
  links.forEach((l, k) => ng.idb(l.dlt, [ng.opt(9, Buffer.from([resol[k]])), ...(k === 4 ? [ng.opt(14, ng.u64(-3n))] : [])]));
  const all = interleave(lists, 5);
  all.forEach((p, i) => {
    const rate = [1e9, 2 ** 20, 1e6, 1e3, 1, 1e12, 2 ** 10][p.iface];
    const ticks = BigInt(Math.floor((1_600_000_000 + i / 8) * rate));
    const data = Buffer.from(p.frame);
    if (p.iface === 0 && i % 5 === 1) ng.spb(data.length, data);
    else if (p.iface === 0 && i % 5 === 2) ng.opb(0, ticks, data);
    else ng.epb(p.iface, ticks, data, i % 4 === 0 ? [ng.opt(1, Buffer.from('comment'))] : []);
  });
  // A second section in the other byte order, its own interfaces, more of the same flows.
  ng.shb(true);
  ng.idb(LINKTYPE.EN10MB);
  const more = conn({ link: { ...eth(), iface: 0 }, cport: 41100, sport: 6000, isnC: 10, isnS: 20, client: [90], server: [90, 90] }, ex);
  more.forEach((p, i) => ng.epb(0, BigInt(1_600_001_000 + i) * 1_000_000n, Buffer.from(p.frame)));
  return { name: 'gen-interfaces.pcapng', bytes: new Uint8Array(ng.bytes()), expected: ex };
}

/** The generated seeds (deterministic: the same bytes on every call). */
export function generatedSeeds(): GeneratedSeed[] {
  saltCounter = 1;
  return [seedEthernet(), seedVlanIpv6(), seedVlanReuse(), seedRawNoSyn(), seedNullIpv6(), seedSllMpls(), seedMany(), seedPcapng()];
}
