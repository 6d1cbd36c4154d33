import { decodeRecord, flowLine, type FlowRecord, type RecordOutput } from '../../src/report/flow-record';

/** A RecordOutput that keeps each record decoded from its spill line, with the packet that closed it. */
export function recordList(): { output: RecordOutput; records: { close: number; record: FlowRecord }[] } {
  const records: { close: number; record: FlowRecord }[] = [];
  const output: RecordOutput = {
    add: (close, _first, line) => { records.push({ close, record: decodeRecord(line) }); },
    addFlow: (close, _first, flow, name, filePacket) => { records.push({ close, record: decodeRecord(flowLine(flow, name, [], filePacket)) }); },
  };
  return { output, records };
}
