/** One shared cell to wait on: nothing ever notifies it, so a wait always runs to its timeout. */
const cell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the calling thread for `ms` milliseconds. Only for short waits in code that must stay
 * synchronous (a console write retrying EAGAIN, a lock waiter): the event loop stops meanwhile.
 */
export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
