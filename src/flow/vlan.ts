/**
 * VLANs in the flow key (issue 13). Flows are found by their directional 4-tuple; the
 * flows of one 4-tuple on different VLANs hang off each other in a chain (`sibling`), so
 * an untagged packet can still find its conversation's flow on whatever VLAN it is:
 *
 * - A tagged packet (innermost VLAN id v) belongs to the flow of its 4-tuple on VLAN v.
 *   If there is none but the 4-tuple's flow has seen only untagged packets so far, that
 *   flow takes VLAN v (a SPAN port that mirrors one side untagged and the other tagged,
 *   or each packet twice, keeps one conversation in one flow). Otherwise it starts a new
 *   flow: two different VLANs never share one.
 * - An untagged packet belongs to the 4-tuple's flow seen most recently, on any VLAN.
 *
 * So an untagged flow is always alone in its chain. Every rule depends only on the
 * packets of one 4-tuple, in order: the shard hash (src/shard/hash.ts) sends all of them,
 * whatever their VLAN, to one bucket, and the outcome is the same for any worker count.
 * With `-S vlan_key=0` the VLAN is ignored (tcpflow's merging): a 4-tuple has one flow.
 */
export interface VlanChained<T> {
  /** The VLAN id the flow is keyed on: -1 while it has seen only untagged packets (or VLANs are merged). */
  tag: number;
  /** The next flow of the same directional 4-tuple on another VLAN. */
  sibling: T | null;
  /** Global number of the flow's latest packet. */
  lastPacket: number;
}

/** The flow of a 4-tuple chain (`head`) a packet with VLAN `vlan` (-1: untagged) belongs to, if any. */
export function flowOnVlan<T extends VlanChained<T>>(head: T | undefined, vlan: number): T | undefined {
  if (head === undefined) return undefined;
  if (vlan < 0) {
    let latest = head;
    for (let f = head.sibling; f !== null; f = f.sibling) if (f.lastPacket > latest.lastPacket) latest = f;
    return latest;
  }
  for (let f: T | null = head; f !== null; f = f.sibling) if (f.tag === vlan) return f;
  return head.tag < 0 ? head : undefined;
}

/** Take `flow` out of the chain starting at `head`; returns the chain's new head (null: empty). */
export function unchain<T extends VlanChained<T>>(head: T, flow: T): T | null {
  let rest = head;
  if (head === flow) {
    rest = flow.sibling as T;
  } else {
    for (let f = head; f.sibling !== null; f = f.sibling) {
      if (f.sibling === flow) {
        f.sibling = flow.sibling;
        break;
      }
    }
  }
  flow.sibling = null;
  return rest ?? null;
}
