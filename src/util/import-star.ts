/**
 * tsc's __importStar helper (esModuleInterop: `import * as fs from 'node:fs'`) with one
 * namespace object per module: the bundle (scripts/bundle.ts) puts this in place of the
 * helper each of tsc's files carries. tsc's own makes a new object with a getter for every
 * export on each import (node:fs 25 times, node:path 16 ...), ~5 ms of a small run's
 * start-up. Same result: the module itself when it is an ES module, else an object whose
 * properties read the module's, and whose `default` is the module.
 */
const namespaces = new WeakMap<object, object>();

export function importStar(mod: unknown): unknown {
  if ((typeof mod !== 'object' && typeof mod !== 'function') || mod === null) return { default: mod };
  if ((mod as { __esModule?: boolean }).__esModule) return mod;
  let ns = namespaces.get(mod);
  if (ns === undefined) {
    ns = {};
    for (const k of Object.getOwnPropertyNames(mod)) {
      if (k === 'default') continue;
      const desc = Object.getOwnPropertyDescriptor(mod, k) as PropertyDescriptor;
      // As tsc's __createBinding: read through a getter (a live binding) unless it is a constant.
      const constant = !('get' in desc) && !desc.writable && !desc.configurable;
      Object.defineProperty(ns, k, constant ? desc : { enumerable: true, get: () => (mod as Record<string, unknown>)[k] });
    }
    Object.defineProperty(ns, 'default', { enumerable: true, value: mod });
    namespaces.set(mod, ns);
  }
  return ns;
}
