/**
 * libc strerror() texts for the errno codes file operations give, so messages read like
 * tcpflow's (libuv words some of them differently).
 */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  ENOMEM: 'Cannot allocate memory',
  EINVAL: 'Invalid argument',
  EBADF: 'Bad file descriptor',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EDQUOT: 'Disk quota exceeded',
  EEXIST: 'File exists',
  EFBIG: 'File too large',
};

/** The C library's text for an error thrown by node:fs (or its own message, capitalised). */
export function strerror(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && STRERROR[e.code]) return STRERROR[e.code];
  const m = /^[A-Z0-9_]+: ([^,]*)/.exec(String(e && e.message));
  const text = m ? m[1] : String(e && e.message);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
