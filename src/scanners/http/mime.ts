import { MIME_EXTENSIONS } from './mime-table';

/**
 * The extension tcpflow gives a body of this Content-Type (spec §8.2): the value up to the
 * first ';', lower-cased, looked up in tcpflow's table; whitespace is not trimmed, so
 * "text/html ; charset=x" gets none. '' when the type is not in the table.
 */
export function extensionFor(contentType: string): string {
  const semi = contentType.indexOf(';');
  return MIME_EXTENSIONS.get((semi < 0 ? contentType : contentType.slice(0, semi)).toLowerCase()) ?? '';
}
