#!/usr/bin/env node
// Makes fixtures/http/loopback-http.pcap: HTTP/1.x exchanges between a small server and
// client on 127.0.0.1, captured with tcpdump. Run as root (tcpdump on lo):
//   node scripts/make-http-capture.js fixtures/http/loopback-http.pcap
// The responses are written byte by byte by this script (no Date header); what each
// connection asked and what each body is (md5 and size, decoded and as sent) goes to
// OUT.json for the tests (test/scanners/http/loopback.test.ts), computed here from the
// server's data, not from any parser.
'use strict';
const net = require('node:net');
const zlib = require('node:zlib');
const { spawn } = require('node:child_process');

const out = process.argv[2];
if (!out) throw new Error('usage: make-http-capture.js OUT.pcap');

const text = (n, seed) => Array.from({ length: n }, (_, i) => `${seed} line ${i}\n`).join('');
const html = text(300, 'html');
const bodies = {
  '/chunked': { type: 'text/plain', body: Buffer.from(text(50, 'chunked')), chunked: true },
  '/gzip': { type: 'text/html; charset=utf-8', body: Buffer.from(html), coding: 'gzip' },
  '/gzip-chunked': { type: 'application/json', body: Buffer.from(JSON.stringify({ rows: text(80, 'json').split('\n') })), coding: 'gzip', chunked: true },
  '/deflate': { type: 'text/css', body: Buffer.from(text(120, 'css')), coding: 'deflate' },
  '/br': { type: 'application/javascript', body: Buffer.from(text(150, 'js')), coding: 'br' },
  '/head': { type: 'text/html', body: Buffer.from(html) },
  '/after': { type: 'text/plain', body: Buffer.from('after the HEAD, 204 and 304 responses\n') },
  '/a': { type: 'text/plain', body: Buffer.from(text(10, 'pipelined a')) },
  '/b': { type: 'image/png', body: Buffer.alloc(777, 7) },
  '/c': { type: 'text/csv', body: Buffer.from(text(10, 'pipelined c')) },
  // 64 MiB of zeros: about 64 KiB gzipped, a ratio of 1000.
  '/bomb': { type: 'application/octet-stream', body: null, coding: 'gzip' },
};

function encode(b, coding) {
  if (coding === 'gzip') return zlib.gzipSync(b);
  if (coding === 'deflate') return zlib.deflateSync(b);
  if (coding === 'br') return zlib.brotliCompressSync(b);
  return b;
}

function response(method, path) {
  if (path === '/204') return Buffer.from('HTTP/1.1 204 No Content\r\nServer: t\r\n\r\n');
  if (path === '/304') return Buffer.from('HTTP/1.1 304 Not Modified\r\nServer: t\r\nETag: "x"\r\n\r\n');
  const spec = bodies[path];
  let body = spec.body === null ? zlib.gzipSync(Buffer.alloc(64 << 20)) : encode(spec.body, spec.coding);
  const head = [`HTTP/1.1 200 OK`, `Server: t`, `Content-Type: ${spec.type}`];
  if (spec.coding) head.push(`Content-Encoding: ${spec.coding}`);
  if (spec.chunked) {
    head.push('Transfer-Encoding: chunked');
    const parts = [];
    for (let i = 0; i < body.length; i += 700) {
      const c = body.subarray(i, i + 700);
      parts.push(Buffer.from(c.length.toString(16) + '\r\n'), c, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    body = Buffer.concat(parts);
  } else {
    head.push(`Content-Length: ${spec.body === null ? body.length : encode(spec.body, spec.coding).length}`);
  }
  return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n'), method === 'HEAD' ? Buffer.alloc(0) : body]);
}

function serve(socket) {
  let buf = '';
  socket.on('data', (d) => {
    buf += d.toString('latin1');
    let end;
    while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
      const [method, path] = buf.slice(0, end).split(' ');
      buf = buf.slice(end + 4);
      if (path === '/close') {
        // HTTP/1.0, no length: the body ends when the connection closes.
        socket.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n'), Buffer.from(text(40, 'until close'))]));
        return;
      }
      socket.write(response(method, path));
    }
  });
}

function exchange(port, requests, { together = false } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('data', (d) => { got += d.length; });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    const reqs = requests.map(([m, p]) => `${m} ${p} HTTP/1.1\r\nHost: t\r\n\r\n`);
    const send = async () => {
      if (together) s.write(reqs.join(''));
      else for (const r of reqs) { s.write(r); await new Promise((r2) => setTimeout(r2, 150)); }
      setTimeout(() => s.end(), 600);
    };
    s.on('connect', send);
  });
}

const md5 = (b) => require('node:crypto').createHash('md5').update(b).digest('hex');
const CONNECTIONS = [
  [['GET', '/chunked'], ['GET', '/gzip'], ['GET', '/gzip-chunked'], ['GET', '/deflate'], ['GET', '/br']],
  [['HEAD', '/head'], ['GET', '/204'], ['GET', '/304'], ['GET', '/after']],
  [['GET', '/a'], ['HEAD', '/b'], ['GET', '/c']],
  [['GET', '/close']],
  [['GET', '/bomb']],
];

/** What each response's body is: null when it has none. */
function manifest() {
  return CONNECTIONS.map((reqs) => reqs.map(([method, path]) => {
    if (method === 'HEAD' || path === '/204' || path === '/304') return { method, path, body: null };
    if (path === '/close') return { method, path, body: { ...sum(Buffer.from(text(40, 'until close'))), sent: sum(Buffer.from(text(40, 'until close'))) } };
    const spec = bodies[path];
    const plain = spec.body ?? Buffer.alloc(64 << 20);
    return { method, path, type: spec.type, coding: spec.coding ?? null, body: { ...sum(plain), sent: sum(encode(plain, spec.coding)) } };
  }));
}
const sum = (b) => ({ md5: md5(b), size: b.length });

async function main() {
  const server = net.createServer(serve);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const dump = spawn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-w', out, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => dump.stderr.once('data', r));
  await new Promise((r) => setTimeout(r, 500));
  for (const [i, reqs] of CONNECTIONS.entries()) await exchange(port, reqs, { together: i === 2 });
  await new Promise((r) => setTimeout(r, 1000));
  dump.kill('SIGINT');
  await new Promise((r) => dump.on('close', r));
  server.close();
  require('node:fs').writeFileSync(out.replace(/\.pcap$/, '.json'), JSON.stringify({ connections: manifest() }, null, 1) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
