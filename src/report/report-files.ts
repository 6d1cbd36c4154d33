import * as fs from 'node:fs';
import { HttpDuplicates } from '../scanners/http/duplicates';
import { outputError } from '../errors';
import { strerror } from '../util/strerror';
import { freeSpace } from '../util/disk';
import type { ReportSummary } from './dfxml';
import type { FlowRecord } from './flow-record';
import { END_OF_INPUT, loadSources, mergeRecords, type SpillSource, sourceBytes } from './record-spill';
import { REPORT_RESERVE, ReportWriter, reserveSpace } from './report-writer';

/** Most bytes of records read into memory to make room on a full disk. */
const LOAD_LIMIT = 256 * 1024 * 1024;

/** How one report file renders the run: a header, each flow record, a footer. */
export interface ReportFormat {
  header: string;
  /** A flow's bytes in this report. */
  render(record: FlowRecord): Buffer;
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
  private constructor(readonly path: string, private readonly fd: number, private readonly format: ReportFormat,
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

  render(record: FlowRecord): Buffer {
    return this.format.render(record);
  }

  /** Room the file already holds for records. */
  get reservedBytes(): number {
    return this.reserved - this.start;
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

/**
 * The end of the reports: merge the workers' records (spill files and what they held in
 * memory) into every report file in report order, then write each footer. The spill
 * files are deleted. `lossReasons` are the workers' reasons for records they could not
 * keep. Returns one problem line per report file that misses records or is incomplete.
 * `orderKeys` (--shard runs): each record carries its place in the report's order.
 */
export function finishReports(files: readonly ReportFile[], sources: SpillSource[], spillPaths: readonly string[],
  expected: number, summary: ReportSummary, lossReasons: readonly string[], orderKeys = false): string[] {
  const writers = files.map((f) => f.writer());
  const reasons = [...lossReasons];
  try {
    // A full disk: the records need the room their spill files take. Read them in and
    // delete the files first (when that fits in memory).
    const bytes = sourceBytes(sources);
    const room = Math.min(...files.map((f) => freeSpace(f.path) + f.reservedBytes));
    const loaded = files.length > 0 && bytes > 0 && bytes > room ? loadSources(sources, LOAD_LIMIT) : null;
    if (loaded !== null) {
      sources = loaded;
      for (const p of spillPaths) fs.rmSync(p, { force: true });
    }
    if (files.length > 0) {
      const duplicates = new HttpDuplicates();
      mergeRecords(sources, (record, close, first) => {
        duplicates.filter(record);
        if (orderKeys) {
          record.first_packet = first;
          record.close_packet = close === END_OF_INPUT ? undefined : close;
        }
        for (let i = 0; i < files.length; i++) writers[i].add(files[i].render(record));
      });
    }
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
