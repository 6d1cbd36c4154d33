/**
 * `npm run man`: writes man/tcpflow-ts.1 from the option table (cli/manpage.ts). Run it after
 * changing an option, a parameter or the version; test/cli/manpage.test.ts fails until then.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { manPage } from '../cli/manpage';
import { FEATURES } from '../cli/options';

/** The committed man page (package.json "man"), from dist/scripts/ or scripts/. */
export const MAN_PAGE = path.join(__dirname, '..', '..', 'man', 'tcpflow-ts.1');

if (require.main === module) {
  fs.writeFileSync(MAN_PAGE, manPage(FEATURES));
  process.stdout.write(`${path.relative(process.cwd(), MAN_PAGE)} written\n`);
}
