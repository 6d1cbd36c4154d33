'use strict';
/**
 * A tcpflow-ts js plugin (-e js -S js_module=examples/tls-sni.js -S js_function=scan):
 * for each flow that starts with a TLS ClientHello, the server name the client asked for
 * (SNI) and the application protocols it offered (ALPN), e.g.
 *   {"sni":"www.example.com","alpn":["h2","http/1.1"],"tls_record_version":"3.1"}
 * Other flows get no result. Only the flow's first 16 KiB are read.
 *
 *   tcpflow-ts -r capture.pcap -o out -e js -S js_module=examples/tls-sni.js -S js_function=scan --jsonl flows.jsonl
 *   jq -r 'select(.js.sni) | "\(.src_ipn) -> \(.dst_ipn):\(.dstport) \(.js.sni)"' flows.jsonl
 */

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

function scan(flow) {
  const b = flow.read(0, 16384);
  // A TLS record: content type, version (3.x), length; then the handshake message.
  if (b.length < 9 || b[0] !== HANDSHAKE || b[1] !== 3 || b[5] !== CLIENT_HELLO) return undefined;
  const hello = handshakeBody(b);
  if (hello === null) return undefined;
  const result = { tls_record_version: `${b[1]}.${b[2]}` };
  let p = 2 + 32; // client version, random
  p += 1 + hello[p]; // session id
  if (p + 2 > hello.length) return result;
  p += 2 + u16(hello, p); // cipher suites
  if (p + 1 > hello.length) return result;
  p += 1 + hello[p]; // compression methods
  if (p + 2 > hello.length) return result;
  const end = Math.min(hello.length, p + 2 + u16(hello, p));
  for (p += 2; p + 4 <= end;) {
    const type = u16(hello, p), len = u16(hello, p + 2), body = hello.subarray(p + 4, Math.min(end, p + 4 + len));
    if (type === EXT_SERVER_NAME) {
      const name = serverName(body);
      if (name !== null) result.sni = name;
    } else if (type === EXT_ALPN) {
      result.alpn = protocols(body);
    }
    p += 4 + len;
  }
  return result;
}

/** The ClientHello's body, joined from the TLS records it may span (null if cut short). */
function handshakeBody(b) {
  const parts = [];
  let have = 0, need = -1;
  for (let p = 0; p + 5 <= b.length && b[p] === HANDSHAKE;) {
    const len = u16(b, p + 3);
    const frag = b.subarray(p + 5, Math.min(b.length, p + 5 + len));
    parts.push(frag);
    have += frag.length;
    if (need < 0 && have >= 4) {
      const all = concat(parts);
      need = 4 + ((all[1] << 16) | (all[2] << 8) | all[3]);
    }
    if (need >= 0 && have >= need) return concat(parts).subarray(4, need);
    p += 5 + len;
  }
  return null;
}

function serverName(ext) {
  // server_name_list: length, then entries of (type, length, name); type 0 is a host name.
  for (let p = 2; p + 3 <= ext.length;) {
    const type = ext[p], len = u16(ext, p + 1);
    if (type === 0 && p + 3 + len <= ext.length) return Buffer.from(ext.subarray(p + 3, p + 3 + len)).toString('latin1');
    p += 3 + len;
  }
  return null;
}

function protocols(ext) {
  const out = [];
  for (let p = 2; p < ext.length;) {
    const len = ext[p];
    if (p + 1 + len > ext.length) break;
    out.push(Buffer.from(ext.subarray(p + 1, p + 1 + len)).toString('latin1'));
    p += 1 + len;
  }
  return out;
}

function u16(b, p) {
  return (b[p] << 8) | b[p + 1];
}

function concat(parts) {
  return parts.length === 1 ? parts[0] : Uint8Array.from(Buffer.concat(parts));
}

module.exports = { scan };
