/**
 * A real dynamic import(): TypeScript compiles `import()` to require() for CommonJS
 * output, which cannot load ES modules; import() takes both kinds. In the bundles, which
 * cli/main.ts and workers/bundle-boot.ts compile with vm.Script (for their code caches),
 * import() has no loader on Node 20: those make one as newImporter does (in a module Node
 * loaded) and hand it over under IMPORTER.
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
