/**
 * The optional addon native/tcpflow-ts-files (Node-API, built by npm ci): a flow file
 * opened relative to the output directory's descriptor, and its last write, times and
 * close in one call; and the process's end (src/util/exit.ts). Without it (no compiler when installed, TCPFLOW_TS_NATIVE_FILES=0, or
 * a run's first files: nativeFilesAfter) the same calls go through node:fs, with the same
 * files, times and messages.
 */
export interface NativeFiles {
  /** A descriptor of directory `path` for openAt, or -errno. */
  openDir(path: string): number;
  /** openat(2) with O_CLOEXEC added: a descriptor, or -errno. */
  openAt(dirfd: number, name: string, flags: number, mode: number): number;
  /**
   * Write data[off, off + len) at `pos`, all of it (`data` an array of at most 1,024
   * pieces: each in turn, off 0 and len their total): 0 or -errno.
   */
  write(fd: number, data: Uint8Array | readonly Uint8Array[] | null, off: number, len: number, pos: number): number;
  /**
   * write(), then stamp atime and mtime with `time` seconds (null: leave them) and close
   * `fd` whatever failed: 0, or the first call's -errno.
   */
  finish(fd: number, data: Uint8Array | readonly Uint8Array[] | null, off: number, len: number, pos: number, time: number | null): number;
  /** _exit(2) with `code` (src/util/exit.ts). */
  exitNow(code: number): never;
  /** The errno numbers the caller tells apart (node:os has them too, but loading it costs every thread memory). */
  readonly errno: { readonly EEXIST: number; readonly EMFILE: number; readonly ENFILE: number };
}

let addon: NativeFiles | null | undefined;

/**
 * Files a store creates through node:fs before it loads the addon. Loading it takes ~1.3 ms
 * (resolving the package and dlopen) and saves ~1.5 µs a file: a small run (a capture of a
 * few flows: 1.5 times `node -e 0` is its budget) never pays for it.
 * TCPFLOW_TS_NATIVE_FILES=1 uses it from the first file (tests), =0 never.
 */
export function nativeFilesAfter(): number {
  const v = process.env.TCPFLOW_TS_NATIVE_FILES;
  return v === '0' ? Infinity : v === '1' ? 0 : 1024;
}

/** The addon, or null when it is not built. */
export function nativeFiles(): NativeFiles | null {
  if (addon === undefined) {
    addon = null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require('tcpflow-ts-files') as NativeFiles;
    } catch {
      // Not built: node:fs does the same work.
    }
  }
  return addon;
}

/** An error as node:fs would throw it for a call that gave -errno `r`. */
export function errnoError(r: number, syscall: string, p: string): NodeJS.ErrnoException {
  // Loaded here, on a failure only: node:util at start-up cost each thread memory.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const code = (require('node:util') as typeof import('node:util')).getSystemErrorName(r);
  return Object.assign(new Error(`${code}: ${syscall} '${p}'`), { errno: r, code, syscall, path: p });
}
