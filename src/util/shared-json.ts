/**
 * JSON for data with much repetition (clipanion's state machine repeats one node's
 * transitions in ~20 others): every distinct array or object is written once, in a table,
 * and referred to by its place in it. Decoding gives values equal to the encoded ones, with
 * equal parts shared: fit for data that is only read. Objects must not have a key '@'.
 */
type Ref = { '@': number };
type Entry = unknown[] | Record<string, unknown>;

export function encodeShared(value: unknown): string {
  const table: Entry[] = [];
  const seen = new Map<string, Ref>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const entry: Entry = Array.isArray(v) ? v.map(walk) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    const text = JSON.stringify(entry);
    let ref = seen.get(text);
    if (ref === undefined) {
      if (!Array.isArray(entry) && Object.hasOwn(entry, '@')) throw new Error("encodeShared: an object has a key '@'");
      ref = { '@': table.push(entry) - 1 };
      seen.set(text, ref);
    }
    return ref;
  };
  const root = walk(value);
  return JSON.stringify({ table, root });
}

export function decodeShared(text: string): unknown {
  const { table, root } = JSON.parse(text) as { table: Entry[]; root: unknown };
  // An entry refers only to entries before it (they were completed first).
  const resolve = (v: unknown): unknown => (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, '@') ? table[(v as Ref)['@']] : v);
  for (const entry of table) {
    if (Array.isArray(entry)) {
      for (let i = 0; i < entry.length; i++) entry[i] = resolve(entry[i]);
    } else {
      for (const k in entry) entry[k] = resolve(entry[k]);
    }
  }
  return resolve(root);
}
