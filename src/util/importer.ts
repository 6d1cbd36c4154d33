/**
 * A real dynamic import(): TypeScript compiles `import()` to require() for CommonJS
 * output, which cannot load ES modules; import() takes both kinds. In the bundle, which
 * cli/main.ts compiles with vm.Script (for its code cache), import() has no loader on
 * Node 20: cli/main.ts makes one as newImporter does (in a module Node loaded) and hands it
 * over under IMPORTER.
 */
export type Importer = (specifier: string) => Promise<unknown>;

export const IMPORTER = Symbol.for('tcpflow-ts.import');

export function newImporter(): Importer {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('specifier', 'return import(specifier)') as Importer;
}

/** The importer handed over by cli/main.ts, or one of this module's own. */
export function importer(): Importer {
  return (globalThis as { [IMPORTER]?: Importer })[IMPORTER] ?? newImporter();
}
