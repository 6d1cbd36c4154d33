/**
 * A table of `size` texts of `text`, made once `uses` calls have asked for one: a run that
 * needs a few (a small capture's names and records) does without its allocation at start-up.
 */
export function lazyTable(size: number, text: (i: number) => string, uses = 256): (i: number) => string {
  let table: readonly string[] | null = null;
  let left = uses;
  return (i) => {
    if (table !== null) return table[i];
    if (--left > 0) return text(i);
    table = Array.from({ length: size }, (_, j) => text(j));
    return table[i];
  };
}
