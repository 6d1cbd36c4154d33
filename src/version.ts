/**
 * The program's name and version, in one place: the version is package.json's, so -V,
 * the help text, the man page and the report's <program>/<version> cannot disagree with the
 * package.
 */
export const PROGRAM_NAME = 'tcpflow-ts';
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = (require('../../package.json') as { version: string }).version;
/** The tcpflow release whose behaviour this program reproduces. */
export const TCPFLOW_VERSION = '1.6.1';
/** What -V prints and -h, the man page and -v start with: which program, and what it is compatible with. */
export const VERSION_LINE = `${PROGRAM_NAME} ${VERSION} (tcpflow ${TCPFLOW_VERSION} compatible)`;
