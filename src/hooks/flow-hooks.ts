import * as fs from 'node:fs';
import type { HttpBodyListener } from '../scanners/http-body-listener';
import type { Logger } from '../util/log';
import { AlertFd } from './alert-fd';
import { CommandRunner, type CommandStats } from './commands';

/** tcpflow's per-file hooks (spec §1.3, §8.5), as each worker gets them. */
export interface HookConfig {
  tcpAlertFd: number | null;
  tcpCmd: string | null;
  httpAlertFd: number | null;
  httpCmd: string | null;
  /** Commands this worker may run at once (its share of tcpflow's 10). */
  commandLimit: number;
}

export const NO_HOOKS: HookConfig = { tcpAlertFd: null, tcpCmd: null, httpAlertFd: null, httpCmd: null, commandLimit: 1 };

/** What each hook did in one worker. */
export interface HookStats {
  tcpCmd: CommandStats | null;
  httpCmd: CommandStats | null;
}

/** Told about every flow file: when its flow first stores a byte, and when the flow has ended and its file is closed. */
export interface FlowFileListener {
  opened(path: string): void;
  closed(path: string): void;
}

/**
 * One worker's hooks: alert lines for flow files and HTTP body files, and the commands
 * run on them. A body file gets its command only if it is not empty (tcpflow: "each
 * non-empty HTTP body").
 */
export class Hooks {
  readonly flowFiles: FlowFileListener | null;
  readonly httpBodies: HttpBodyListener | null;
  private readonly tcpCmd: CommandRunner | null;
  private readonly httpCmd: CommandRunner | null;

  constructor(cfg: HookConfig, log: Logger) {
    const tcpAlert = cfg.tcpAlertFd === null ? null : new AlertFd(cfg.tcpAlertFd, 'tcp_alert_fd', log);
    const httpAlert = cfg.httpAlertFd === null ? null : new AlertFd(cfg.httpAlertFd, 'http_alert_fd', log);
    const tcpCmd = this.tcpCmd = cfg.tcpCmd === null ? null : new CommandRunner(cfg.tcpCmd, 'tcp_cmd', cfg.commandLimit, log);
    const httpCmd = this.httpCmd = cfg.httpCmd === null ? null : new CommandRunner(cfg.httpCmd, 'http_cmd', cfg.commandLimit, log);
    this.flowFiles = tcpAlert === null && tcpCmd === null ? null : {
      opened: (p) => tcpAlert?.opened(p),
      closed: (p) => {
        tcpAlert?.closed(p);
        tcpCmd?.run(p);
      },
    };
    this.httpBodies = httpAlert === null && httpCmd === null ? null : {
      opened: (p) => httpAlert?.opened(p),
      closed: (p) => {
        httpAlert?.closed(p);
        if (httpCmd !== null && nonEmpty(p)) httpCmd.run(p);
      },
    };
  }

  /** Every command started so far has finished. */
  async drain(): Promise<void> {
    await Promise.all([this.tcpCmd?.drain(), this.httpCmd?.drain()]);
  }

  stats(): HookStats {
    return { tcpCmd: this.tcpCmd?.stats ?? null, httpCmd: this.httpCmd?.stats ?? null };
  }
}

function nonEmpty(p: string): boolean {
  return (fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0) > 0;
}
