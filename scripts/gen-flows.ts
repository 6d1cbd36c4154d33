/**
 * Writes a generated capture for the flow-table benchmarks (scripts/bench-flows.sh).
 *
 * usage: node dist/scripts/gen-flows.js half-open COUNT FILE
 *   COUNT connections, one SYN each (half-open flows that stay open to the end of input),
 *   70 bytes per packet.
 */
import { writeHalfOpenFlows } from '../test/helpers/flowgen';

const [kind, countText, file] = process.argv.slice(2);
const count = Number(countText);
if (kind !== 'half-open' || !Number.isInteger(count) || count < 1 || file === undefined) {
  process.stderr.write('usage: gen-flows half-open COUNT FILE\n');
  process.exit(2);
}
writeHalfOpenFlows(file, count);
