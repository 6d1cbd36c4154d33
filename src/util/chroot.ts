/**
 * -z DIR: the process changes its root to DIR just before -U's drop of root (tcpflow's and
 * tcpdump's droproot), after the capture or the input is open. Node.js has no chroot(2): the
 * optional addon `tcpflow-ts-chroot` (native/tcpflow-ts-chroot, Node-API, built by npm ci) calls it.
 *
 * How the run stays whole across the change of root: the process works in DIR from the
 * start (process.chdir), and every output path is a relative path inside DIR, so one path
 * names the same file before the chroot (when the output directory is made, the reports
 * opened and the workers create their spill files) and after it (flow files, the spills
 * read back at the end). Input paths, read before the change, are made absolute. Every
 * module the rest of the run may load is loaded before, in the main thread and in each
 * worker (preloadModules): nothing outside DIR can be read afterwards.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLED, DIST_ROOT } from './dist';
import { EXIT, TcpflowError } from '../errors';
import type { Options } from '../options';
import { strerror } from './strerror';
import { nativeFiles } from '../output/native-files';

/** `p` as the new root will see it, relative to its top: '/a/b' and 'a/b' → 'a/b', '../x' → 'x'. */
export function insideRoot(p: string): string {
  const rel = path.posix.normalize(`/${p}`).slice(1).replace(/\/+$/, '');
  return rel === '' ? '.' : rel;
}

/** The options of a -z run: outputs inside DIR (relative), inputs and the plugin absolute (read from here). */
export function chrootOptions(opts: Options, cwd: string): Options {
  const abs = (p: string): string => (p === '-' ? p : path.resolve(cwd, p));
  const inside = (p: string | null): string | null => (p === null || p === '-' ? p : insideRoot(p));
  return {
    ...opts,
    readFiles: opts.readFiles.map(abs),
    finishFiles: opts.finishFiles.map(abs),
    outdir: insideRoot(opts.outdir),
    reportPath: inside(opts.reportPath),
    jsonlPath: inside(opts.jsonlPath),
    unprocessedPath: inside(opts.unprocessedPath),
    plugin: opts.plugin === null ? null : { ...opts.plugin, module: abs(opts.plugin.module) },
  };
}

interface ChrootBinding {
  chroot(dir: string): void;
}

/** The addon, or one line saying why -z cannot be done here. */
function binding(dir: string): ChrootBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('tcpflow-ts-chroot') as ChrootBinding;
  } catch (e) {
    throw new TcpflowError('PRIVILEGES', `-z ${dir}: chroot needs the optional 'tcpflow-ts-chroot' addon, which is not available (${strerror(e).split('\n')[0]}): install a C compiler and node-gyp's needs (Debian: apt-get install build-essential python3) and run npm ci, or npm rebuild tcpflow-ts-chroot`, EXIT.USAGE);
  }
}

/** A chroot ready to be entered: checked (root, DIR a directory, the addon loaded) before anything is written. */
export class Chroot {
  private constructor(readonly dir: string, private readonly addon: ChrootBinding) {}

  /** Checks, then makes DIR the working directory (the outputs' relative paths point into it). */
  static prepare(dir: string): Chroot {
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) throw new TcpflowError('PRIVILEGES', `-z ${dir}: only root can chroot (running as uid ${uid}); run without -z`, EXIT.USAGE);
    const abs = path.resolve(dir);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch (e) {
      throw new TcpflowError('PRIVILEGES', `-z ${dir}: ${strerror(e)}`, EXIT.INPUT);
    }
    if (!st.isDirectory()) throw new TcpflowError('PRIVILEGES', `-z ${dir}: Not a directory`, EXIT.INPUT);
    const c = new Chroot(abs, binding(dir));
    process.chdir(abs);
    return c;
  }

  /** chroot(DIR), chdir("/"). Every module the run needs must be loaded by now (preloadModules). */
  enter(): void {
    try {
      this.addon.chroot(this.dir);
    } catch (e) {
      throw new TcpflowError('PRIVILEGES', `Couldn't chroot/chdir to '${this.dir}': ${strerror(e)}`, EXIT.INPUT);
    }
    // Node caches the working directory (in every thread): now it is the new root's top.
    process.chdir('/');
  }
}

/** Programs of their own (run as child processes), not modules of a run. */
const ENTRY_POINTS = new Set(['capture/filter-child.js']);

/**
 * Packages loaded lazily somewhere in a run (a decompressor, the JSON logger). The bundles
 * leave them out (scripts/bundle.ts): they load from node_modules in the runs that use them.
 */
export const LAZY_PACKAGES: readonly string[] = ['pino', 'fzstd', 'unbzip2-stream', 'xz-decompress'];

/**
 * Loads every module of tcpflow-ts (dist/src, dist/workers), the packages it loads
 * lazily and the addon native/tcpflow-ts-files, so that nothing needs a file outside the new root once it is entered. Loading a
 * module runs only its top level: they have no effect beyond defining things. The bundle
 * (dist/bundle) already holds every module of ours: only the packages are loaded.
 */
export function preloadModules(): void {
  if (!BUNDLED) {
    const root = path.join(DIST_ROOT, 'src');
    for (const dir of [root, path.join(DIST_ROOT, 'workers')]) {
      for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        const file = path.join(e.parentPath, e.name);
        if (e.isFile() && e.name.endsWith('.js') && !ENTRY_POINTS.has(path.relative(root, file))) require(file);
      }
    }
  }
  for (const p of LAZY_PACKAGES) {
    try {
      require(p);
    } catch {
      // An optional one that is missing is missing before the chroot too: its own message then.
    }
  }
  // The optional addon: flow files past a store's first 1,024 and the process's end use it.
  nativeFiles();
}
