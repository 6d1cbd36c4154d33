import * as path from 'node:path';

/** Defined (true) by esbuild in the bundle (scripts/bundle.ts); never defined in tsc's output. */
declare const TCPFLOW_TS_BUNDLE: boolean | undefined;

/** Running from dist/bundle/ (every module in one file) rather than tsc's module tree. */
export const BUNDLED = typeof TCPFLOW_TS_BUNDLE !== 'undefined';

/** dist/: this module is dist/src/util/dist.js, or inlined in dist/bundle/*.js. */
export const DIST_ROOT = path.resolve(__dirname, BUNDLED ? '..' : '../..');
