/**
 * Heap bytes per open flow in a worker's flow table: N connections go through a TcpDemux
 * (the real decoder and demultiplexer; flow files that are named but never written), and the V8 heap
 * plus array-buffer memory is compared before and after, each after a full GC. Half-open
 * flows get a SYN only; established ones a SYN and one data segment (so a file name and a
 * received-bytes run). The figures behind BYTES_PER_FLOW and the default -S max_flows.
 *
 * usage: node --expose-gc dist/scripts/flow-heap.js [N...]   (default 100000 500000 1000000)
 */
import { execFileSync } from 'node:child_process';
import { decodeFrame, LINKTYPE } from '../src/decode/link';
import { newDecodedPacket, Verdict } from '../src/decode/packet';
import { FLOW_BUCKETS } from '../src/flow/buckets';
import { PacketMeta, TcpDemux } from '../src/flow/tcpdemux';
import type { FlowOutput } from '../src/flow/sink';
import { FlowFile, FlowFileStore } from '../src/output/flow-files';
import { ether, ipv4, SYN, tcp } from '../test/helpers/packets';

/** A flow file as the real store makes it, with a name as long as the default template's for IPv4, that writes nothing. */
class NamedOnly extends FlowFile {
  override write(): void {}
}
const store = new FlowFileStore(1);
const namesOnly: FlowOutput = {
  open: (flow) => new NamedOnly(store, `out/010.000.000.001.40000-192.000.002.001.00080c${flow.firstPacket}`, flow, false),
  closed() {},
  readClosed: () => new Uint8Array(0),
};

function used(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function measure(n: number, established: boolean): number {
  const demux = new TcpDemux({ maxSeek: 1 << 24, maxBytes: -1, storing: true, savedWindow: 100_000 }, namesOnly);
  const syn = ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 1000, flags: SYN }), { src: '10.0.0.1', dst: '192.0.2.1' }));
  const data = ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 1001, payload: 'GET / HTTP/1.1\r\n' }), { src: '10.0.0.1', dst: '192.0.2.1' }));
  const d = newDecodedPacket();
  const m: PacketMeta = { caplen: 0, origlen: 0, sec: 0, usec: 0, packetNo: 0, finishing: false, bucket: 0 };
  const before = used();
  let packetNo = 0;
  const send = (frame: Uint8Array, i: number) => {
    const a = i + 1;
    frame[27] = (a >>> 16) & 0xff; frame[28] = (a >>> 8) & 0xff; frame[29] = a & 0xff;
    if (decodeFrame(frame, 0, frame.length, LINKTYPE.EN10MB, d) !== Verdict.TCP) throw new Error('bad frame');
    m.caplen = m.origlen = frame.length;
    m.packetNo = packetNo++;
    m.sec = 1_500_000_000 + Math.floor(m.packetNo / 1000);
    m.bucket = i % FLOW_BUCKETS;
    demux.process(frame, d, m);
  };
  for (let i = 0; i < n; i++) {
    send(syn, i);
    if (established) send(data, i);
  }
  const after = used();
  if (demux.openFlows !== n) throw new Error(`expected ${n} open flows, got ${demux.openFlows}`);
  return (after - before) / n;
}

// Each measurement in a fresh process: garbage left by an earlier one skews the difference.
if (process.argv[2] === '--one') {
  const n = Number(process.argv[3]), established = process.argv[4] === 'established';
  console.log(`${n} ${established ? 'established' : 'half-open'} flows: ${measure(n, established).toFixed(0)} heap bytes per flow`);
} else {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length > 0 ? sizes : [100_000, 500_000, 1_000_000]) {
    for (const mode of ['half-open', 'established']) {
      execFileSync(process.execPath, ['--expose-gc', __filename, '--one', String(n), mode], { stdio: 'inherit' });
    }
  }
}
