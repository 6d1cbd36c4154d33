import type { Flow } from '../../flow/flow';
import { tupleHash } from '../../flow/key';
import type { ByteRun, ScanFields } from '../../report/flow-record';
import type { HttpBodyListener } from '../http-body-listener';
import type { FlowScan, Scanner, StoredContent } from '../scanner';
import { BodyFile, removeFile } from './body-file';
import { BodyInflater, type Coding, type InflateLimits } from './inflate';
import { RequestStream, ResponseStream, type ResponseEvents, type ResponseHead } from './message-stream';
import { extensionFor } from './mime';
import { createHash } from '../../util/digest';

export interface HttpScannerOptions {
  /** Decode gzip, deflate and br bodies (off with -Z). */
  decompress: boolean;
  limits: InflateLimits;
  listener: HttpBodyListener;
}

/** tcpflow only parses flow files of at least this many bytes (MIN_HTTP_BUFSIZE). */
const MIN_RESPONSE_BYTES = 80;
const RESPONSE_MAGIC = Buffer.from('HTTP/1.');
const READ_STEP = 1 << 20;
/** Requests remembered per connection for pairing; later responses are read by their own headers. */
const MAX_REQUESTS = 100_000;

/**
 * The two directions of one connection, as far as the http scanner knows them: the
 * client's requests, so that each response is read knowing its request (a response to
 * HEAD has no body: spec B33). Both directions live in the same worker (the shard hash is
 * symmetric) and are fed in packet order, so what a response sees of its requests is the
 * same for any number of workers. An entry lives while a direction that joined it is open.
 */
export class Connection {
  requests: RequestStream | null = null;
  sides = 0;
  /** The next connection of its hash (Connections). */
  next: Connection | null = null;

  constructor(
    readonly hash: number,
    readonly client: Uint8Array,
    readonly server: Uint8Array,
    readonly clientPort: number,
    readonly serverPort: number,
    readonly tag: number,
  ) {}

  is(client: Uint8Array, server: Uint8Array, clientPort: number, serverPort: number, tag: number): boolean {
    if (clientPort !== this.clientPort || serverPort !== this.serverPort || tag !== this.tag || client.length !== this.client.length) return false;
    for (let i = 0; i < client.length; i++) if (client[i] !== this.client[i] || server[i] !== this.server[i]) return false;
    return true;
  }
}

/** Connections' key: a connection's 4-tuple (client first) and VLAN tag (-1: none) as a 32-bit number. */
export function connectionHash(client: Uint8Array, server: Uint8Array, clientPort: number, serverPort: number, tag: number): number {
  return (tupleHash(client, 0, server, 0, client.length, clientPort, serverPort) ^ Math.imul(tag + 2, 0x9e3779b1)) >>> 0;
}

/**
 * The open connections by client address and port, server address and port, and VLAN
 * (one 4-tuple on two VLANs, a SPAN port's tagged and untagged copies, is two
 * connections): keyed by a number, chained on a collision. A text key per flow (the
 * 4-tuple printed) cost ~2 % of a worker on http-many-60k.pcap (session 8's profile).
 */
export class Connections {
  private readonly byHash = new Map<number, Connection>();

  join(client: Uint8Array, server: Uint8Array, clientPort: number, serverPort: number, tag: number): Connection {
    const hash = connectionHash(client, server, clientPort, serverPort, tag);
    const first = this.byHash.get(hash) ?? null;
    let c = first;
    while (c !== null && !c.is(client, server, clientPort, serverPort, tag)) c = c.next;
    if (c === null) {
      c = new Connection(hash, client, server, clientPort, serverPort, tag);
      c.next = first;
      this.byHash.set(hash, c);
    }
    c.sides++;
    return c;
  }

  leave(c: Connection): void {
    if (--c.sides > 0) return;
    let x = this.byHash.get(c.hash) ?? null;
    if (x === c) {
      if (c.next === null) this.byHash.delete(c.hash);
      else this.byHash.set(c.hash, c.next);
      return;
    }
    while (x !== null && x.next !== c) x = x.next;
    if (x !== null) x.next = c.next;
  }
}

/**
 * tcpflow's http scanner (spec §8.2): every response in a server→client flow (a flow file
 * of at least 80 bytes that begins with "HTTP/1.") gets its body written to
 * `<flow file>-HTTPBODY-NNN[.ext]`, chunked coding removed, gzip/deflate (and br) decoded
 * unless -Z, each non-empty body listed in the report's <byte_runs>.
 */
export function httpScanner(options: HttpScannerOptions): Scanner {
  const connections = new Connections();
  return {
    name: 'http',
    open(flow: Flow, path: string | null): FlowScan {
      return new HttpFlowScan(flow, path, options, connections);
    },
  };
}

const enum Role { UNKNOWN, RESPONSE, REQUEST }

class HttpFlowScan implements FlowScan {
  private role = Role.UNKNOWN;
  /** The first bytes, when they come in pieces shorter than MIN_RESPONSE_BYTES. */
  private prefix: Buffer | null = null;
  private prefixLen = 0;
  private connection: Connection | null = null;
  private response: ResponseReader | null = null;

  constructor(
    private readonly flow: Flow,
    private readonly path: string | null,
    private readonly options: HttpScannerOptions,
    private readonly connections: Connections,
  ) {}

  onData(_pos: number, bytes: Uint8Array): void {
    this.take(bytes);
  }

  onClose(content: StoredContent, streamed: boolean): ScanFields | null {
    if (!streamed) {
      // Bytes stopped arriving in order: read what the flow file holds instead, from the start.
      this.response?.abandon();
      this.response = null;
      this.leave();
      this.role = Role.UNKNOWN;
      this.prefixLen = 0;
      for (let pos = 0; ; pos += READ_STEP) {
        const b = content.read(pos, READ_STEP);
        this.take(b);
        if (b.length < READ_STEP) break;
      }
    }
    const fields = this.finish();
    this.leave();
    return fields;
  }

  private take(bytes: Uint8Array): void {
    if (this.role === Role.REQUEST) {
      this.connection?.requests?.feed(bytes);
      return;
    }
    if (this.response !== null) {
      this.response.feed(bytes);
      return;
    }
    if (this.prefixLen === 0 && bytes.length >= MIN_RESPONSE_BYTES) {
      // The usual case: the first piece says it all, no need to gather.
      this.decideRole(bytes);
      this.startWith(bytes, null);
      return;
    }
    // Gather the first bytes: 7 tell a response from a request, 80 start a response's parsing.
    const prefix = this.prefix ??= Buffer.alloc(MIN_RESPONSE_BYTES);
    const n = Math.min(bytes.length, MIN_RESPONSE_BYTES - this.prefixLen);
    prefix.set(bytes.subarray(0, n), this.prefixLen);
    this.prefixLen += n;
    if (this.role === Role.UNKNOWN && this.prefixLen >= RESPONSE_MAGIC.length) this.decideRole(prefix);
    if ((this.role as Role) === Role.REQUEST || this.prefixLen === MIN_RESPONSE_BYTES) {
      this.startWith(prefix.subarray(0, this.prefixLen), bytes.subarray(n));
    }
  }

  /** The role is known (and a response has its 80 bytes): hand over the bytes so far. */
  private startWith(first: Uint8Array, rest: Uint8Array | null): void {
    if (this.role === Role.REQUEST) {
      this.connection?.requests?.feed(first);
      if (rest !== null && rest.length > 0) this.connection?.requests?.feed(rest);
      return;
    }
    if (this.role !== Role.RESPONSE || this.path === null) return;
    this.response = new ResponseReader(this.path, this.options, this.connection);
    this.response.feed(first);
    if (rest !== null && rest.length > 0) this.response.feed(rest);
  }

  private decideRole(first: Uint8Array): void {
    let isResponse = true;
    for (let i = 0; i < RESPONSE_MAGIC.length; i++) if (first[i] !== RESPONSE_MAGIC[i]) isResponse = false;
    this.role = isResponse ? Role.RESPONSE : Role.REQUEST;
    const f = this.flow;
    const c = isResponse ? this.connections.join(f.dst, f.src, f.dport, f.sport, f.tag) : this.connections.join(f.src, f.dst, f.sport, f.dport, f.tag);
    if (!isResponse) c.requests = new RequestStream(MAX_REQUESTS);
    this.connection = c;
  }

  private finish(): ScanFields | null {
    if (this.role === Role.UNKNOWN && this.prefix !== null) {
      // Fewer than 7 bytes in all: too short for a response; requests are told as such.
      this.decideRole(this.prefix.subarray(0, this.prefixLen));
      this.startWith(this.prefix.subarray(0, this.prefixLen), null);
    }
    if (this.role !== Role.RESPONSE) return null;
    if (this.response === null) return null; // shorter than 80 bytes, or no file to name bodies after
    return { byte_runs: this.response.finish(), http_content_sha256: this.response.contentDigest() };
  }

  private leave(): void {
    const c = this.connection;
    if (c === null) return;
    this.connection = null;
    this.connections.leave(c);
  }
}

/** The responses of one flow: the parser, each body's file and decoder, the byte runs so far. */
class ResponseReader implements ResponseEvents {
  private readonly stream: ResponseStream;
  private readonly runs: ByteRun[] = [];
  /**
   * The content's digest, for the once-per-content rule (duplicates.ts): SHA-256, which
   * a crafted capture cannot collide (MD5 can: a flow could hide another's bodies) and
   * which costs half of MD5 where the CPU has SHA instructions (measured: 15,600 flows
   * of 3 packets, 43 ms against 89 ms).
   */
  private readonly hash = createHash('sha256');
  /** Final responses so far (1xx other than 101 answer no request): the next one answers request #answered. */
  private answered = 0;
  private file: BodyFile | null = null;
  private bodyName = '';
  private bodyOffset = -1;
  private inflater: BodyInflater | null = null;
  private coding: Coding | null = null;

  constructor(private readonly path: string, private readonly options: HttpScannerOptions, private readonly connection: Connection | null) {
    this.stream = new ResponseStream(this);
  }

  feed(bytes: Uint8Array): void {
    this.hash.update(bytes);
    if (this.stream.done) return;
    this.stream.feed(bytes);
    // Body bytes were lent from `bytes`, which the caller reuses.
    this.file?.settle();
  }

  /** SHA-256 of everything fed (the flow file's content), in base64: the shortest key for the run-long set of contents. */
  contentDigest(): string {
    return this.hash.digest('base64');
  }

  finish(): ByteRun[] {
    this.stream.finish();
    return this.runs;
  }

  /** Streaming was given up: remove what was written, the flow is read again at its end. */
  abandon(): void {
    this.inflater?.end();
    this.inflater = null;
    this.file?.discard();
    this.file = null;
    for (const r of this.runs) removeFile(r.filename);
  }

  head(number: number, head: ResponseHead): boolean {
    const status = head.statusCode;
    let method = '';
    if (status >= 200 || status === 101) {
      method = this.connection?.requests?.methods[this.answered] ?? '';
      this.answered++;
    }
    const ext = extensionFor(head.contentType);
    this.bodyName = `${this.path}-HTTPBODY-${String(number).padStart(3, '0')}${ext === '' ? '' : '.' + ext}`;
    this.bodyOffset = -1;
    const encoding = head.contentEncoding;
    this.coding = !this.options.decompress ? null
      : encoding === 'gzip' || encoding === 'deflate' || encoding === 'br' ? encoding : null;
    return method === 'HEAD';
  }

  body(bytes: Uint8Array, offset: number): void {
    if (this.bodyOffset < 0) {
      this.bodyOffset = offset;
      this.file = new BodyFile(this.bodyName);
      this.options.listener.opened(this.bodyName);
      if (this.coding !== null) {
        const file = this.file;
        this.inflater = new BodyInflater(this.coding, this.options.limits, (out) => file.append(out));
      }
    }
    if (this.inflater !== null) this.inflater.write(bytes);
    else this.file?.lend(bytes);
  }

  end(): void {
    const file = this.file;
    if (file === null) return;
    const inflater = this.inflater;
    inflater?.end();
    this.file = null;
    this.inflater = null;
    const size = file.finish();
    if (size === 0) return;
    const error = file.error ?? inflater?.capped ?? undefined;
    this.runs.push(error === undefined
      ? { file_offset: this.bodyOffset, filename: this.bodyName, filesize: size }
      : { file_offset: this.bodyOffset, filename: this.bodyName, filesize: size, error });
    this.options.listener.closed(this.bodyName);
  }
}

