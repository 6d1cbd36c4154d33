import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXIT, TcpflowError } from '../errors';
import type { Flow } from '../flow/flow';
import type { JsonValue, ScanFields } from '../report/flow-record';
import { isoTime } from '../report/xml-text';
import { addrText } from '../util/address';
import { importer } from '../util/importer';
import type { FlowScan, Scanner, StoredContent } from './scanner';

/** -S js_module=PATH -S js_function=NAME. */
export interface PluginSpec {
  module: string;
  function: string;
}

/** Default of -S js_function. */
export const DEFAULT_PLUGIN_FUNCTION = 'scan';
/** A result's JSON may take this much room in the report at most. */
export const MAX_RESULT_CHARS = 1 << 20;
/** bytes() hands over at most this much; read(pos, len) reads any part of a larger flow. */
export const MAX_BYTES_AT_ONCE = 256 << 20;

/**
 * What a plugin function gets for each flow that stored bytes, once the flow has ended
 * (its file is complete and still readable). `read` and `bytes` return copies.
 */
export interface PluginFlow {
  filename: string | null;
  filesize: number;
  family: 4 | 6;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** ISO 8601 UTC times of the first and last packet, as in the report. */
  startTime: string;
  endTime: string;
  packets: number;
  /** Bytes of the packets on the wire. */
  len: number;
  vlan: number;
  /** Bytes [pos, pos+len) of the flow's content, short at its end. */
  read(pos: number, len: number): Uint8Array;
  /** The whole content (at most MAX_BYTES_AT_ONCE: past that, use read). */
  bytes(): Uint8Array;
}

export type PluginFunction = (flow: PluginFlow) => unknown;

const importModule = importer();

/**
 * Load the plugin's function. Any problem is a usage error in one line, so the run stops
 * before it writes anything (main thread), and a worker never starts without it.
 */
export async function loadPlugin(spec: PluginSpec): Promise<PluginFunction> {
  const where = `-S js_module=${spec.module}`;
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(pathToFileURL(path.resolve(spec.module)).href) as Record<string, unknown>;
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new TcpflowError('USAGE', `${where}: cannot load: ${why.split('\n')[0]}`, EXIT.USAGE);
  }
  // A CommonJS module's exports arrive as `default` (and as named exports when Node can tell).
  const fromDefault = (mod.default ?? null) as Record<string, unknown> | null;
  const fn = mod[spec.function] ?? (typeof fromDefault === 'object' || typeof fromDefault === 'function' ? fromDefault?.[spec.function] : undefined);
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function' || k === 'default');
    throw new TcpflowError('USAGE', `${where}: no function '${spec.function}' exported (-S js_function; exports: ${names.join(', ') || 'none'})`, EXIT.USAGE);
  }
  return fn as PluginFunction;
}

/**
 * The js scanner: calls the plugin's function on every flow that stored bytes, when the
 * flow ends, in the worker that owns the flow. The flow-end pipeline is synchronous, so
 * the function must return its result (a Promise is reported as an error for the flow).
 * Whatever goes wrong for one flow is that flow's `js_error`; the run goes on.
 */
export function jsScanner(fn: PluginFunction): Scanner {
  return {
    name: 'js',
    open(flow: Flow, path: string | null): FlowScan {
      return {
        onClose(content): ScanFields {
          let value: unknown;
          try {
            value = fn(pluginFlow(flow, path, content));
          } catch (e) {
            return { js_error: describe(e) };
          }
          return result(value);
        },
      };
    },
  };
}

function pluginFlow(flow: Flow, filename: string | null, content: StoredContent): PluginFlow {
  const read = (pos: number, len: number): Uint8Array => {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new RangeError(`read(${pos}, ${len}): position and length must be whole numbers, 0 or more`);
    }
    return pos >= flow.lastByte || len === 0 ? new Uint8Array(0) : Uint8Array.from(content.read(pos, Math.min(len, flow.lastByte - pos)));
  };
  return {
    filename,
    filesize: flow.lastByte,
    family: flow.src.length === 4 ? 4 : 6,
    src: addrText(flow.src),
    dst: addrText(flow.dst),
    sport: flow.sport,
    dport: flow.dport,
    startTime: isoTime(flow.startSec, flow.startUsec),
    endTime: isoTime(flow.lastSec, flow.lastUsec),
    packets: flow.packets,
    len: flow.len,
    vlan: flow.vlan,
    read,
    bytes(): Uint8Array {
      if (flow.lastByte > MAX_BYTES_AT_ONCE) {
        throw new RangeError(`bytes(): the flow has ${flow.lastByte} bytes, more than ${MAX_BYTES_AT_ONCE}: read it in parts with read(pos, len)`);
      }
      return read(0, flow.lastByte);
    },
  };
}

/** A plugin's return value as report fields: nothing for undefined or null. */
function result(value: unknown): ScanFields {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    // Nothing would wait for it: say so instead of reporting "[object Promise]".
    (value as Promise<unknown>).then(undefined, () => {});
    return { js_error: 'the function returned a Promise: js plugins must return their result (the flow-end pipeline is synchronous)' };
  }
  if (typeof value === 'string') return value.length > MAX_RESULT_CHARS ? tooLong(value.length) : { js: value };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    return { js_error: `the result cannot be written as JSON: ${describe(e)}` };
  }
  if (json === undefined) return { js_error: `the result (${typeof value}) cannot be written as JSON` };
  if (json.length > MAX_RESULT_CHARS) return tooLong(json.length);
  return { js: JSON.parse(json) as JsonValue };
}

function tooLong(chars: number): ScanFields {
  return { js_error: `the result takes ${chars} characters, more than ${MAX_RESULT_CHARS}` };
}

function describe(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`;
  } catch {
    return 'thrown: a value that cannot be printed';
  }
}
