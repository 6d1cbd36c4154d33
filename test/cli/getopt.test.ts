import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getopt, GetoptResult } from '../../cli/getopt';
import { EXIT, TcpflowError } from '../../src/errors';

function usageError(argv: string[], message: string): void {
  assert.throws(
    () => getopt(argv),
    (e: unknown) =>
      e instanceof TcpflowError && e.code === 'USAGE' && e.exitCode === EXIT.USAGE && e.message === message,
  );
}

const parse = (argv: string[]): GetoptResult => getopt(argv);

test('-P (no purge, from the man page) is a flag; -L takes an argument', () => {
  assert.deepEqual(parse(['-P', '-cP']).options, [{ opt: 'P' }, { opt: 'c' }, { opt: 'P' }]);
  assert.deepEqual(parse(['-Lname', '-L', 'other']).options, [{ opt: 'L', arg: 'name' }, { opt: 'L', arg: 'other' }]);
  usageError(['-L'], "option requires an argument -- 'L'");
});

test('bundled flags', () => {
  assert.deepEqual(parse(['-cB']), { options: [{ opt: 'c' }, { opt: 'B' }], operands: [] });
  assert.deepEqual(parse(['-qvh']).options, [{ opt: 'q' }, { opt: 'v' }, { opt: 'h' }]);
});

test('an option argument is the rest of the word, else the next word', () => {
  assert.deepEqual(parse(['-Fk']).options, [{ opt: 'F', arg: 'k' }]);
  assert.deepEqual(parse(['-F', 'k']).options, [{ opt: 'F', arg: 'k' }]);
  assert.deepEqual(parse(['-Sname=value']).options, [{ opt: 'S', arg: 'name=value' }]);
  assert.deepEqual(parse(['-S', 'name=value']).options, [{ opt: 'S', arg: 'name=value' }]);
  assert.deepEqual(parse(['-T%A/%a']).options, [{ opt: 'T', arg: '%A/%a' }]);
  assert.deepEqual(parse(['-b100', '-oOUT']).options, [{ opt: 'b', arg: '100' }, { opt: 'o', arg: 'OUT' }]);
  assert.deepEqual(parse(['-r../x.pcap']).options, [{ opt: 'r', arg: '../x.pcap' }]);
  // flags then an argument-taking option in one word
  assert.deepEqual(parse(['-qr', 'f.pcap']).options, [{ opt: 'q' }, { opt: 'r', arg: 'f.pcap' }]);
  assert.deepEqual(parse(['-qrf.pcap']).options, [{ opt: 'q' }, { opt: 'r', arg: 'f.pcap' }]);
  // the rest of the word is the argument even if it holds option letters
  assert.deepEqual(parse(['-Ftk']).options, [{ opt: 'F', arg: 'tk' }]);
});

test('the next word is taken as the argument even when it looks like an option', () => {
  assert.deepEqual(parse(['-r', '-']).options, [{ opt: 'r', arg: '-' }]);
  assert.deepEqual(parse(['-o', '-c']).options, [{ opt: 'o', arg: '-c' }]);
  assert.deepEqual(parse(['-d', '-1']).options, [{ opt: 'd', arg: '-1' }]);
  assert.deepEqual(parse(['-r', '--']), { options: [{ opt: 'r', arg: '--' }], operands: [] });
  assert.deepEqual(parse(['-S', '']).options, [{ opt: 'S', arg: '' }]);
});

test('options and operands interleave (GNU permutation)', () => {
  assert.deepEqual(parse(['-r', 'f.pcap', 'port', '80', '-C']), {
    options: [{ opt: 'r', arg: 'f.pcap' }, { opt: 'C' }],
    operands: ['port', '80'],
  });
  assert.deepEqual(parse(['host', '-q', 'x', '-o', 'out', 'y']), {
    options: [{ opt: 'q' }, { opt: 'o', arg: 'out' }],
    operands: ['host', 'x', 'y'],
  });
});

test('-- ends options; a lone - is an operand', () => {
  assert.deepEqual(parse(['-q', '--', '-c', '--', 'x']), { options: [{ opt: 'q' }], operands: ['-c', '--', 'x'] });
  assert.deepEqual(parse(['-', '-q']), { options: [{ opt: 'q' }], operands: ['-'] });
  assert.deepEqual(parse(['--']), { options: [], operands: [] });
});

test('options keep command-line order, repeats included', () => {
  assert.deepEqual(parse(['-Fk', '-T', 'x', '-Fm', '-e', 'md5', '-x', 'http', '-E', 'md5']).options, [
    { opt: 'F', arg: 'k' },
    { opt: 'T', arg: 'x' },
    { opt: 'F', arg: 'm' },
    { opt: 'e', arg: 'md5' },
    { opt: 'x', arg: 'http' },
    { opt: 'E', arg: 'md5' },
  ]);
});

test('long options map to their short letters', () => {
  assert.deepEqual(parse(['--chroot', '/d', '--chroot=/e']).options, [
    { opt: 'z', arg: '/d' },
    { opt: 'z', arg: '/e' },
  ]);
  assert.deepEqual(parse(['--help', '--verbose', '--version']).options, [{ opt: 'h' }, { opt: 'v' }, { opt: 'V' }]);
  assert.deepEqual(parse(['--relinquish-privileges', 'nobody']).options, [{ opt: 'U', arg: 'nobody' }]);
  assert.deepEqual(parse(['--relinquish-privileges=nobody']).options, [{ opt: 'U', arg: 'nobody' }]);
  assert.deepEqual(parse(['--workers', '4', '--workers=2']).options, [
    { opt: 'workers', arg: '4' },
    { opt: 'workers', arg: '2' },
  ]);
  assert.deepEqual(parse(['--workers', '-3']).options, [{ opt: 'workers', arg: '-3' }]);
  assert.deepEqual(parse(['--chroot=']).options, [{ opt: 'z', arg: '' }]);
});

test('unambiguous prefixes of long options are accepted (getopt_long)', () => {
  assert.deepEqual(parse(['--he', '--verb', '--vers', '--w', '3']).options, [
    { opt: 'h' },
    { opt: 'v' },
    { opt: 'V' },
    { opt: 'workers', arg: '3' },
  ]);
});

test('unknown option and missing argument are usage errors', () => {
  usageError(['-y'], "invalid option -- 'y'");
  usageError(['-cy'], "invalid option -- 'y'");
  usageError(['-r', 'f', '-:'], "invalid option -- ':'");
  usageError(['-r'], "option requires an argument -- 'r'");
  usageError(['-q', '-o'], "option requires an argument -- 'o'");
  usageError(['-cF'], "option requires an argument -- 'F'");
  usageError(['--foo'], "unrecognized option '--foo'");
  usageError(['--foo=bar'], "unrecognized option '--foo=bar'");
  usageError(['--ver'], "option '--ver' is ambiguous; possibilities: '--verbose' '--version'");
  usageError(['--help=1'], "option '--help' doesn't allow an argument");
  usageError(['--workers'], "option '--workers' requires an argument");
  usageError(['--chroot'], "option '--chroot' requires an argument");
});

test('errors stop at the first problem, in order', () => {
  usageError(['-y', '-r'], "invalid option -- 'y'");
  usageError(['-r', 'x', 'port', '-Q', '-y'], "invalid option -- 'Q'");
});
