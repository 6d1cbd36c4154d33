import * as fs from 'node:fs';
import { HttpDuplicates } from '../scanners/http/duplicates';
import { outputError } from '../errors';
import { strerror } from '../util/strerror';
import { freeSpace } from '../util/disk';
import type { ReportSummary } from './dfxml';
import type { FlowRecord } from './flow-record';
import { END_OF_INPUT, type HeldRecords, LOW_WATER, RecordMerge, type SpillSource } from './record-spill';
import type { LineTemplate, SpillLine } from './spill-line';
import { REPORT_RESERVE, ReportWriter, reserveSpace } from './report-writer';

/** Most bytes of records read into memory to make room on a full disk. */
const LOAD_LIMIT = 256 * 1024 * 1024;

/** How one report file renders the run: a header, each flow record, a footer. */
export interface ReportFormat {
  header: string;
  /** A flow's text in this report. */
  render(record: FlowRecord): string;
  /** render(line.record()) as UTF-8, written from a plain spill line (SpillLine.plain()). */
  line: LineTemplate;
  /** Everything after the records; `summary.error` says what went wrong, if anything. */
  footer(summary: ReportSummary): string;
}

/**
 * One report file (DFXML, JSON Lines): the header is written when the run starts, with
 * room reserved after it, so that the records still fit when flow files fill the disk;
 * records and footer follow at the end of the run, through a writer that keeps the file
 * complete when the disk fills up anyway.
 */
export class ReportFile {
  private constructor(readonly path: string, private readonly fd: number, readonly format: ReportFormat,
    private readonly start: number, private readonly reserved: number) {}

  static open(p: string, format: ReportFormat): ReportFile {
    let fd: number;
    try {
      fd = fs.openSync(p, 'w', 0o666);
    } catch (e) {
      throw outputError(p, e);
    }
    const b = Buffer.from(format.header);
    try {
      for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, b.length - off);
    } catch (e) {
      fs.closeSync(fd);
      throw outputError(p, e);
    }
    return new ReportFile(p, fd, format, b.length, reserveSpace(fd, b.length, REPORT_RESERVE));
  }

  /** Room the file already holds for records written from `position` on. */
  reservedAfter(position: number): number {
    return Math.max(0, this.reserved - Math.max(position, this.start));
  }

  /** Close the file as it is (a run that ends before its records: nothing after the header). */
  abandon(): void {
    fs.closeSync(this.fd);
  }

  /** Start writing records: a writer for them and the footer. */
  writer(): ReportWriter {
    return new ReportWriter(this.fd, this.start, this.reserved);
  }

  /**
   * Write the footer after what `out` wrote and close the file. Returns null when all
   * `expected` records are in, else one line saying what is missing and why (the footer's
   * error says it too, when it could be written).
   */
  finish(out: ReportWriter, summary: ReportSummary, expected: number, lossReasons: readonly string[]): string | null {
    const missing = (written: number) => expected - written;
    const lossText = (written: number) => {
      const why = [...lossReasons, ...(out.error !== null ? [`${this.path}: ${strerror(out.error)}`] : [])];
      return `${missing(written)} of ${expected} flow records are missing from the report (${why.join('; ')})`;
    };
    try {
      out.finish((written) => this.format.footer({
        ...summary,
        error: [summary.error, missing(written) > 0 ? lossText(written) : null].filter((x) => x !== null).join('; ') || null,
      }));
    } catch (e) {
      return `${this.path}: ${strerror(e)}; the report could not be completed (${expected} flow records not written)`;
    } finally {
      fs.closeSync(this.fd);
    }
    return missing(out.written) > 0 ? `${this.path}: ${lossText(out.written)}` : null;
  }
}

/** Rendered report bytes between two checks of the free space while the run goes on. */
const SPACE_CHECK_BYTES = 1 << 20;

/**
 * The reports' records: the workers' records (spill files, and what they held in memory)
 * merged into every report file in report order. Records go out while the run goes on,
 * as the workers' spills allow (progress()), then the rest and each footer at the end
 * (finish()): the coordinator, mostly idle while the workers run, does the merge then
 * instead of after them. While the run goes on records are written only with room to
 * spare on the reports' file system (LOW_WATER): on a disk the flow files are filling,
 * the rest waits for finish(), which can make room by reading the spills into memory
 * and deleting them. `orderKeys` (--shard runs): each record carries its place in the
 * report's order.
 */
export class ReportMerge {
  private readonly writers: ReportWriter[];
  private readonly merge: RecordMerge;
  private readonly duplicates = new HttpDuplicates();
  /** Why merging stopped (a spill file that cannot be read), if it did. */
  private error: unknown = null;
  private paused = false;
  private sinceCheck = SPACE_CHECK_BYTES;

  /** `kept`: complete records (--resume, earlier attempts'); `spills`: each worker's spill file (null: none). */
  constructor(private readonly files: readonly ReportFile[], kept: readonly SpillSource[], spills: readonly (string | null)[],
    private readonly orderKeys = false) {
    this.writers = files.map((f) => f.writer());
    this.merge = new RecordMerge(kept, spills, (line) => this.add(line));
  }

  private add(line: SpillLine): void {
    if (!this.orderKeys && line.plain()) {
      const need = line.end - line.start;
      for (let i = 0; i < this.files.length; i++) {
        const template = this.files[i].format.line;
        const batch = this.writers[i].room(need + template.markup);
        if (batch === null) continue;
        const end = template.write(line, batch.bytes, batch.length);
        this.sinceCheck += end - batch.length;
        this.writers[i].added(end);
      }
      return;
    }
    const record = line.record();
    this.duplicates.filter(record);
    if (this.orderKeys) {
      record.first_packet = line.first;
      record.close_packet = line.close === END_OF_INPUT ? undefined : line.close;
    }
    for (let i = 0; i < this.files.length; i++) {
      const text = this.files[i].format.render(record);
      this.sinceCheck += text.length;
      this.writers[i].add(text);
    }
  }

  /** Worker `w` has `bytes` of whole records in its spill file and will close no flow before packet `through`. */
  progress(w: number, bytes: number, through: number): void {
    if (this.error !== null) return;
    try {
      this.merge.grow(w, bytes, through);
      while (!this.paused) {
        if (this.sinceCheck >= SPACE_CHECK_BYTES) {
          this.sinceCheck = 0;
          this.paused = this.files.some((f) => freeSpace(f.path) < LOW_WATER);
          if (this.paused) break;
        }
        if (this.merge.pump(256) === 0) break;
      }
    } catch (e) {
      this.error = e;
    }
  }

  /**
   * The end of the reports: the rest of the records (with those the workers held in
   * memory), then each footer. The spill files `spillPaths` are deleted. `lossReasons` are
   * the workers' reasons for records they could not keep. Returns one problem line per
   * report file that misses records or is incomplete.
   */
  finish(held: readonly HeldRecords[], spillPaths: readonly string[], expected: number, summary: ReportSummary,
    lossReasons: readonly string[]): string[] {
    const { files, writers } = this;
    const reasons = [...lossReasons];
    try {
      if (this.error !== null) throw this.error;
      this.merge.finish(held);
      // A full disk: the records need the room their spill files take. Read them in and
      // delete the files first (when that fits in memory).
      // statfs only when there are spill files to delete (never for a run that held its
      // records: ~1 ms of a small run on ext4).
      const bytes = spillPaths.length > 0 ? this.merge.remaining() : 0;
      if (files.length > 0 && bytes > 0 && bytes > Math.min(...files.map((f, i) => freeSpace(f.path) + f.reservedAfter(writers[i].position))) &&
        this.merge.loadRest(LOAD_LIMIT)) {
        for (const p of spillPaths) fs.rmSync(p, { force: true });
      }
      this.merge.pump();
    } catch (e) {
      reasons.push(`${spillPaths.length > 0 ? spillPaths[0].replace(/\d+$/, '*') : 'records'}: ${strerror(e)}`);
    } finally {
      for (const p of spillPaths) fs.rmSync(p, { force: true });
    }
    const problems: string[] = [];
    files.forEach((f, i) => {
      const p = f.finish(writers[i], summary, expected, reasons);
      if (p !== null) problems.push(p);
    });
    return problems;
  }
}
