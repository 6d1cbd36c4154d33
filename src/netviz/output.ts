import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputError } from '../errors';
import { PROGRAM_NAME, VERSION } from '../version';
import type { NetvizCounts } from './collector';
import { mergeCounts } from './merge';
import { renderDump, renderHtml, renderSvg } from './render';

/**
 * -e netviz at the end of a run: the collectors' counts merged, drawn as
 * outdir/report.svg and outdir/report.html (where tcpflow writes report.pdf). Returns the
 * text of -S netviz_histogram_dump. "Generated:" is the current time unless
 * SOURCE_DATE_EPOCH (seconds) fixes it, for pages that can be compared byte for byte.
 */
export function writeNetviz(parts: readonly NetvizCounts[], outdir: string, inputs: readonly string[]): string {
  const summary = mergeCounts(parts);
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const header = {
    title: `${PROGRAM_NAME} ${VERSION}`,
    input: inputs[0] ?? '',
    moreInputs: Math.max(0, inputs.length - 1),
    generated: epoch !== undefined && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date(),
  };
  const svg = renderSvg(summary, header);
  for (const [name, content] of [['report.svg', svg], ['report.html', renderHtml(svg, header)]]) {
    const file = path.join(outdir, name);
    try {
      fs.writeFileSync(file, content);
    } catch (e) {
      throw outputError(file, e);
    }
  }
  return renderDump(summary);
}
