import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Names built from flow numbers (-Fk binning, %N/%K/%S in -T templates) must not depend
 * on how connections are spread over workers: numbers come from packet numbers.
 */
const ROOT = path.join(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const CAPTURES = ['tcpreplay__test.pcap', 'pcapplusplus__650HttpResponses.pcap', 'tcpflow__test7-three-flows.pcap'];

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.name !== 'report.xml') out.push(`${r} ${createHash('md5').update(fs.readFileSync(path.join(d, e.name))).digest('hex')}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

for (const args of [['-Fk'], ['-Fm'], ['-T', '%K/%N-%S/%A.%a-%B.%b'], ['-Fc', '-T', '%A/%a/%B/%b/%c%N.flow']]) {
  test(`${args.join(' ')}: the same names for --workers 1 and 4`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpflow-ts-naming-'));
    try {
      for (const cap of CAPTURES) {
        const runs = [1, 4].map((w) => {
          const out = path.join(tmp, `${cap}-${w}`);
          execFileSync(process.execPath, [CLI, ...args, '-r', path.join(ROOT, 'fixtures/corpus/pcaps', cap), '-o', out,
            '--workers', String(w)], { stdio: ['ignore', 'ignore', 'pipe'] });
          return listing(out);
        });
        assert.ok(runs[0].length > 0, `${cap}: no files`);
        assert.deepEqual(runs[1], runs[0], `${cap}: names or contents differ between 1 and 4 workers`);
        if (args[0] === '-Fk') assert.ok(runs[0].every((l) => /^\d{3}\//.test(l)), 'every file is in a 3-digit bin');
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
