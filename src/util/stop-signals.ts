import { EXIT } from '../errors';

/** The signals that end a run (a live capture's normal end; a file run cut short). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit status of a file run cut short by `s`. */
export function signalStatus(s: NodeJS.Signals): number {
  return s === 'SIGINT' ? EXIT.SIGINT : s === 'SIGHUP' ? EXIT.SIGHUP : EXIT.SIGTERM;
}

export type SignalHandler = (s: NodeJS.Signals) => void;

/**
 * A run's stop signals from its first moment. Until the run can act on one (its reports
 * open, its workers starting), the first signal is held and handed over when `handle` is
 * called, so that a signal during the set-up (inputs sized, output directory made) still
 * ends in complete reports and the signal's status, never in Node's default action (killed,
 * no report, no message). A second one before then exits at once: nothing is written yet.
 */
export class StopSignals {
  private held: NodeJS.Signals | null = null;
  private handler: SignalHandler;
  private readonly listener = (s: NodeJS.Signals): void => this.handler(s);

  /** `onFirstEarly`: what a held signal must cut short at once (a wait for standard input's first bytes). */
  constructor(onSecondEarly: SignalHandler, onFirstEarly: SignalHandler = () => {}) {
    this.handler = (s) => {
      if (this.held === null) {
        this.held = s;
        onFirstEarly(s);
      } else onSecondEarly(s);
    };
    for (const s of STOP_SIGNALS) process.on(s, this.listener);
  }

  /** From now on signals go to `handler`, a held one first. */
  handle(handler: SignalHandler): void {
    this.handler = handler;
    const held = this.held;
    this.held = null;
    if (held !== null) handler(held);
  }

  /** Back to Node's default actions. */
  dispose(): void {
    for (const s of STOP_SIGNALS) process.off(s, this.listener);
  }
}
