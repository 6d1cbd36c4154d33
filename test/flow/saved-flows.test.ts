/**
 * The straggler check's memory of closed flows (src/flow/saved-flows.ts): a ring of typed
 * arrays with hash chains. Checked against a plain model (a list in close order, filtered
 * by the window) through expiry, wrap-around of the ring, growth while wrapped and chains
 * of colliding entries, names wrapping around their own ring; then through the demultiplexer (ACK retransmissions of closed
 * connections inside and outside the window).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newDecodedPacket, type DecodedPacket } from '../../src/decode/packet';
import { addrWord, flowHash } from '../../src/flow/key';
import { Outcome } from '../../src/flow/tcpdemux';
import { ANY_VLAN, SavedFlows, type SavedFlowFields } from '../../src/flow/saved-flows';
import { C2S, CISN, Harness } from './harness';
import { FIN, ACK, SYN } from '../helpers/packets';
import { Rng } from './rng';

interface ModelEntry extends SavedFlowFields {
  hash: number;
  name: string | null;
  closePacket: number;
}

/** A packet buffer holding just the two addresses, and its decoded fields. */
/** A flow direction's fields with the address words a Flow keeps beside its arrays. */
function fields(t: Omit<SavedFlowFields, 'addrLen' | 'srcWord' | 'dstWord'>): SavedFlowFields {
  return { ...t, addrLen: t.src.length, srcWord: addrWord(t.src, 0), dstWord: addrWord(t.dst, 0) };
}

function packet(e: SavedFlowFields): { buf: Uint8Array; d: DecodedPacket } {
  const n = e.src.length;
  const buf = new Uint8Array(3 + 2 * n);
  buf.set(e.src, 3);
  buf.set(e.dst, 3 + n);
  const d = newDecodedPacket();
  d.addrOffset = 3;
  d.addrLen = n;
  d.sport = e.sport;
  d.dport = e.dport;
  return { buf, d };
}

function sameTuple(a: SavedFlowFields, b: SavedFlowFields): boolean {
  return a.sport === b.sport && a.dport === b.dport && a.src.length === b.src.length &&
    a.src.every((x, i) => x === b.src[i]) && a.dst.every((x, i) => x === b.dst[i]);
}

/** What find must answer: the newest live entry of the tuple (on `tag`, or any VLAN). */
function modelFind(live: ModelEntry[], probe: SavedFlowFields, tag: number): ModelEntry | undefined {
  for (let i = live.length - 1; i >= 0; i--) {
    if (sameTuple(live[i], probe) && (tag === ANY_VLAN || live[i].tag === tag)) return live[i];
  }
  return undefined;
}

function check(store: SavedFlows, live: ModelEntry[], probe: SavedFlowFields, hash: number, msg: string): void {
  const p = packet(probe);
  for (const tag of [ANY_VLAN, -1, 0, 7]) {
    const want = modelFind(live, probe, tag);
    const n = store.find(p.buf, p.d, hash, tag);
    if (want === undefined) {
      assert.equal(n, -1, `${msg}: tag ${tag} found an entry the model does not have`);
      continue;
    }
    assert.ok(n >= 0, `${msg}: tag ${tag} found nothing`);
    assert.equal(store.nameOfEntry(n), want.name, `${msg}: tag ${tag}`);
    assert.equal(store.isnOfEntry(n), want.isn, msg);
    assert.equal(store.tagOfEntry(n), want.tag, msg);
  }
}

/**
 * Random closes and lookups: `hashOf` maps a tuple to its hash (a weak one makes long
 * chains of different tuples with equal hashes), closes come 0-`burst` per packet.
 */
function runModel(seed: number, window: number, packets: number, burst: number, hashOf: (t: SavedFlowFields) => number,
  numbersFrom = 0): { maxLive: number } {
  const rng = new Rng(seed);
  const store = new SavedFlows(window);
  // A long run's entry numbers and name positions (past 2^31, where `& mask` works on their int32 truncation).
  Object.assign(store as unknown as Record<string, number>, { first: numbersFrom, end: numbersFrom, charEnd: numbersFrom * 3 });
  let live: ModelEntry[] = [];
  let maxLive = 0;
  const tuple = (): SavedFlowFields => {
    const n = rng.chance(0.2) ? 16 : 4;
    const src = new Uint8Array(n), dst = new Uint8Array(n);
    src[n - 1] = rng.int(0, 3);
    dst[0] = rng.pick([0, 1, 200]); // 200: a negative word
    return fields({ src, dst, sport: rng.int(1, 3), dport: rng.pick([80, 65535]), tag: rng.pick([-1, 0, 7]), isn: rng.int(0, 2 ** 32 - 1) });
  };
  for (let p = 0; p < packets; p++) {
    // Closes are stamped with the packet, or just before it (-S tcp_timeout: p - 0.5).
    const closes = rng.chance(0.5) ? 0 : rng.int(0, burst);
    for (let i = 0; i < closes; i++) {
      const t = tuple(), hash = hashOf(t);
      const e: ModelEntry = { ...t, hash, name: name(rng, p, i), closePacket: i === 0 && rng.chance(0.3) ? p - 0.5 : p };
      store.add(e, hash, e.name, e.closePacket);
      store.expire(e.closePacket);
      live.push(e);
    }
    maxLive = Math.max(maxLive, live.length);
    store.expire(p);
    live = live.filter((e) => p - e.closePacket <= window);
    assert.equal(store.size, live.length, `packet ${p}`);
    const probe = rng.chance(0.5) && live.length > 0 ? rng.pick(live) : tuple();
    check(store, live, probe, hashOf(probe), `packet ${p}`);
  }
  return { maxLive };
}

/** A name of 0-300 characters (some beyond Latin-1), or none (a flow that stored nothing). */
function name(rng: Rng, p: number, i: number): string | null {
  if (rng.chance(0.15)) return null;
  const tail = rng.chance(0.1) ? 'x'.repeat(rng.int(0, 300)) : rng.chance(0.1) ? '\u00e9\u4e2d\ud83d\ude00' : '';
  return `out/${p}.${i}${tail}`;
}

const tupleHashOf = (t: SavedFlowFields) => {
  const { buf, d } = packet(t);
  return flowHash(buf, d);
};

describe('SavedFlows against a model', () => {
  test('lookups through expiry and the ring wrapping many times', () => {
    const { maxLive } = runModel(1, 20, 4000, 3, tupleHashOf);
    assert.ok(maxLive < 64, 'the ring never grew: entries wrapped around its 64 slots');
  });

  test('growth while the ring is wrapped (bursts of closes)', () => {
    const { maxLive } = runModel(2, 150, 3000, 12, tupleHashOf);
    assert.ok(maxLive > 512, `grew several times (${maxLive} entries at once)`);
  });

  test('different tuples with one hash: one long chain, found by address and port', () => {
    runModel(3, 40, 2000, 4, () => 0x40000);
  });

  test('hashes colliding in the low bits only, negative as int32', () => {
    runModel(4, 60, 2000, 4, (t) => (t.sport * 0x10000000 + t.src[t.src.length - 1] * 0x1000) >>> 0);
  });

  test('entry numbers and name positions past 2^31 and 2^32 (a long run)', () => {
    runModel(5, 30, 1500, 6, tupleHashOf, 2 ** 31 - 40);
    runModel(6, 30, 1500, 6, tupleHashOf, 2 ** 32 - 40);
  });

  test('window 0: an entry lasts for the packet that closed it only', () => {
    const store = new SavedFlows(0);
    const e = fields({ src: Uint8Array.of(1, 2, 3, 4), dst: Uint8Array.of(5, 6, 7, 8), sport: 1, dport: 2, tag: -1, isn: 9 });
    const { buf, d } = packet(e), hash = tupleHashOf(e);
    store.add(e, hash, 'x', 10);
    store.expire(10);
    assert.equal(store.nameOfEntry(store.find(buf, d, hash, ANY_VLAN)), 'x');
    store.expire(11);
    assert.equal(store.find(buf, d, hash, ANY_VLAN), -1);
    assert.equal(store.size, 0);
  });

  test('clear forgets everything, and the store goes on after it', () => {
    const store = new SavedFlows(1000);
    const e = fields({ src: Uint8Array.of(1, 2, 3, 4), dst: Uint8Array.of(5, 6, 7, 8), sport: 1, dport: 2, tag: -1, isn: 9 });
    const { buf, d } = packet(e), hash = tupleHashOf(e);
    for (let i = 0; i < 100; i++) store.add(e, hash, String(i), i);
    store.clear();
    assert.equal(store.size, 0);
    assert.equal(store.find(buf, d, hash, ANY_VLAN), -1);
    store.add({ ...e, isn: 10 }, hash, 'after', 200);
    const n = store.find(buf, d, hash, ANY_VLAN);
    assert.equal(store.nameOfEntry(n), 'after');
    assert.equal(store.isnOfEntry(n), 10);
  });
});

describe('the straggler window through the demultiplexer', () => {
  /**
   * `conns` connections each send 'data' and close with its FIN; then, `gap` packets of a
   * busy other connection later, every one of them retransmits its data.
   */
  function stragglers(window: number, conns: number, gap: number): { ignored: number; names: string[] } {
    const h = new Harness({ savedWindow: window });
    for (let c = 0; c < conns; c++) {
      h.cport = 1000 + c;
      h.client({ seq: CISN, flags: SYN });
      h.cdata(0, `data${c}`, FIN | ACK);
    }
    h.cport = 999;
    h.client({ seq: CISN, flags: SYN });
    for (let i = 0; i < gap; i++) h.cdata(i, 'x');
    let ignored = 0;
    for (let c = 0; c < conns; c++) {
      h.cport = 1000 + c;
      if (h.cdata(0, `data${c}`) === Outcome.IGNORED) ignored++;
    }
    h.finish();
    return { ignored, names: h.out.names() };
  }

  test('inside the window every closed flow is still known (the ring grew)', () => {
    // 300 flows close over 600 packets; the last of them retransmits 300 + 600 + 300 packets later.
    const r = stragglers(1200, 300, 300);
    assert.equal(r.ignored, 300);
    assert.equal(r.names.length, 301);
  });

  test('just past the window the oldest flows are forgotten, in close order', () => {
    // The first connection closes at packet 1, its straggler comes at 600 + 1 + 100: 700 past a window of 599.
    const r = stragglers(599, 300, 100);
    // Connection c closes at packet 2c + 1 and retransmits at 701 + c: known while 700 - c <= 599.
    assert.equal(r.ignored, 300 - 101);
    assert.ok(r.names.includes('010.000.000.001.01000-010.000.000.002.00080c1'));
    assert.ok(!r.names.includes('010.000.000.001.01101-010.000.000.002.00080c1'));
    assert.ok(r.names.includes('010.000.000.001.01100-010.000.000.002.00080c1'));
  });

  test('a tuple closed twice: the newer flow is the one compared', () => {
    const h = new Harness({ savedWindow: 100 });
    h.client({ seq: CISN, flags: SYN });
    h.cdata(0, 'old', FIN | ACK);
    h.client({ seq: 7000, flags: SYN });
    h.cdata(0, 'new', FIN | ACK, 7000);
    assert.equal(h.cdata(0, 'new', ACK, 7000), Outcome.IGNORED);
    assert.equal(h.cdata(0, 'old'), Outcome.PROCESSED); // the older connection's bytes: not the newest's
    h.finish();
    assert.deepEqual(h.out.names(), [C2S, C2S + 'c1', C2S + 'c2']);
  });
});
