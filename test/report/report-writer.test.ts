import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportIo, ReportWriter, reserveSpace } from '../../src/report/report-writer';
import { assertWellFormedXml } from '../helpers/corpus';

/**
 * A file alone on a disk of `capacity` bytes: writes past it are short, then fail with
 * ENOSPC; overwriting bytes already there needs no room; truncating gives room back.
 * `maxWrite` caps the bytes one write call takes (short writes).
 */
class Disk implements ReportIo {
  data = Buffer.alloc(0);
  calls = 0;

  constructor(public capacity: number, private readonly maxWrite = Infinity) {}

  write(_fd: number, b: Buffer, off: number, len: number, pos: number): number {
    this.calls++;
    const n = Math.min(len, this.capacity - pos, this.maxWrite);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    if (pos + n > this.data.length) {
      const grown = Buffer.alloc(pos + n);
      this.data.copy(grown);
      this.data = grown;
    }
    b.copy(this.data, pos, off, off + n);
    return n;
  }

  truncate(_fd: number, len: number): void {
    this.data = Buffer.from(this.data.subarray(0, len));
  }

  text(): string {
    return this.data.toString('utf8');
  }
}

const HEADER = '<report>\n';
const record = (i: number) => `  <flow n='${i}'>${'x'.repeat(i % 7)}é</flow>\n`;
const footer = (written: number) => `  <written>${written}</written>\n</report>\n`;

/** Header (+ reserve), then `records` records and the footer through a ReportWriter on `disk`. */
function run(disk: Disk, records: number, reserve = 0): { writer: ReportWriter; error: unknown } {
  for (let at = 0; at < HEADER.length;) at += disk.write(0, Buffer.from(HEADER), at, HEADER.length - at, at);
  const reserved = reserveSpace(0, HEADER.length, reserve, disk);
  const writer = new ReportWriter(0, HEADER.length, reserved, disk);
  for (let i = 0; i < records; i++) {
    // Every third record is written straight into the batch (as the report merge copies plain records).
    if (i % 3 !== 2) {
      writer.add(record(i));
      continue;
    }
    const text = record(i);
    const batch = writer.room(3 * text.length);
    if (batch !== null) writer.added(batch.length + batch.bytes.write(text, batch.length));
  }
  try {
    writer.finish(footer);
    return { writer, error: null };
  } catch (e) {
    return { writer, error: e };
  }
}

function expected(written: number): string {
  let s = HEADER;
  for (let i = 0; i < written; i++) s += record(i);
  return s + footer(written);
}

test('room enough: the header, every record, the footer; the reserve is cut off', () => {
  for (const reserve of [0, 10, 4096, 1 << 20]) {
    const disk = new Disk(Infinity);
    const { writer, error } = run(disk, 500, reserve);
    assert.equal(error, null);
    assert.equal(writer.written, 500);
    assert.equal(writer.error, null);
    assert.equal(disk.text(), expected(500), `reserve ${reserve}`);
  }
});

test('records are batched: a few thousand records take a handful of writes', () => {
  const disk = new Disk(Infinity);
  run(disk, 5000);
  assert.ok(disk.calls <= 3, `${disk.calls} write calls`);
});

test('short writes go on where they stopped', () => {
  const disk = new Disk(Infinity, 7);
  const { writer } = run(disk, 300, 100);
  assert.equal(writer.written, 300);
  assert.equal(disk.text(), expected(300));
});

test('a disk that fills up: as many records as fit with the footer, nothing torn, the count in the footer', () => {
  const size = (written: number) => Buffer.byteLength(expected(written));
  const full = size(400);
  // Capacities from "only the header and footer fit" to "all but a few bytes".
  for (let capacity = size(0); capacity < full; capacity += 97) {
    for (const reserve of [0, 2048]) {
      const disk = new Disk(capacity);
      const { writer, error } = run(disk, 400, reserve);
      assert.equal(error, null, `capacity ${capacity}`);
      // The most records that fit together with the footer.
      let most = 0;
      while (most < 400 && size(most + 1) <= capacity) most++;
      assert.equal(writer.written, most, `capacity ${capacity}, reserve ${reserve}`);
      assert.equal(disk.text(), expected(most), `capacity ${capacity}, reserve ${reserve}`);
      assert.equal((writer.error as NodeJS.ErrnoException).code, 'ENOSPC');
      assertWellFormedXml(disk.data);
    }
  }
});

test('more records than the writer remembers must go to make room: it falls back to none', () => {
  // The footer needs more than the last 256 records give back: all are dropped.
  const bigFooter = (written: number) => `  <written>${written}</written>${' '.repeat(20_000)}\n</report>\n`;
  const rec = (i: number) => `  <f>${String(i).padStart(30, '0')}</f>\n`;
  // Every record fits, the footer then needs more than 256 records' room.
  const disk = new Disk(HEADER.length + 1000 * rec(0).length + 100);
  disk.write(0, Buffer.from(HEADER), 0, HEADER.length, 0);
  const writer = new ReportWriter(0, HEADER.length, HEADER.length, disk);
  for (let i = 0; i < 1000; i++) writer.add(rec(i));
  writer.finish(bigFooter);
  assert.equal(writer.written, 0);
  assert.equal(disk.text(), HEADER + bigFooter(0));
});

test('not even the footer fits: finish throws ENOSPC and the file ends after the header', () => {
  const disk = new Disk(HEADER.length + 10);
  const { writer, error } = run(disk, 50);
  assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.equal(writer.written, 0);
  assert.equal(disk.text(), HEADER);
});

test('reserveSpace: blanks as far as the disk allows', () => {
  const disk = new Disk(HEADER.length + 5000);
  disk.write(0, Buffer.from(HEADER), 0, HEADER.length, 0);
  assert.equal(reserveSpace(0, HEADER.length, 100_000, disk), HEADER.length + 5000);
  assert.equal(disk.text(), HEADER + ' '.repeat(5000));
  assert.equal(reserveSpace(0, 0, 0, new Disk(0)), 0);
});
