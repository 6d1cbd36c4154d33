/**
 * A table of `size` texts of `text` (never empty), made once `uses` calls have asked for
 * one, each text on its first use: a run that needs a few (a small capture's names and
 * records) does without the allocation at start-up, and a large table (65,536 port names)
 * holds only the texts asked for.
 */
export function lazyTable(size: number, text: (i: number) => string, uses = 256): (i: number) => string {
  let table: string[] | null = null;
  let left = uses;
  return (i) => {
    if (table === null) {
      if (--left > 0) return text(i);
      table = new Array<string>(size).fill('');
    }
    return table[i] || (table[i] = text(i));
  };
}
