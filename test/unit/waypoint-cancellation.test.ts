// Cancellation, the request path's AbortController: each scenario runs on a real AbortController
// and on a Cancellation, and both must call the same listeners in the same order.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Cancellation, type CancelSignal } from '../../src/waypoint/cancellation.js';

interface Controller {
  readonly signal: CancelSignal;
  abort(): void;
}

type Scenario = (c: Controller, log: string[]) => void;

const scenarios: Record<string, Scenario> = {
  'listeners run in the order added, once, on the first abort only': (c, log) => {
    c.signal.addEventListener('abort', () => log.push('a'));
    c.signal.addEventListener('abort', () => log.push('b'), { once: true });
    log.push(`before ${c.signal.aborted}`);
    c.abort();
    log.push(`after ${c.signal.aborted}`);
    c.abort();
  },
  'the same listener added twice runs once': (c, log) => {
    const f = (): void => void log.push('f');
    c.signal.addEventListener('abort', f);
    c.signal.addEventListener('abort', f);
    c.abort();
  },
  'a removed listener does not run; removing an unknown one is harmless': (c, log) => {
    const f = (): void => void log.push('f');
    c.signal.addEventListener('abort', f);
    c.signal.addEventListener('abort', () => log.push('g'));
    c.signal.removeEventListener('abort', f);
    c.signal.removeEventListener('abort', () => undefined);
    c.abort();
  },
  'a listener removed by an earlier one during the abort does not run': (c, log) => {
    const later = (): void => void log.push('later');
    c.signal.addEventListener('abort', () => {
      log.push('first');
      c.signal.removeEventListener('abort', later);
    });
    c.signal.addEventListener('abort', later);
    c.abort();
  },
  'a listener removing itself during the abort does not stop the next': (c, log) => {
    const self = (): void => {
      log.push('self');
      c.signal.removeEventListener('abort', self);
    };
    c.signal.addEventListener('abort', self);
    c.signal.addEventListener('abort', () => log.push('next'));
    c.abort();
  },
  'a listener added during or after the abort never runs': (c, log) => {
    c.signal.addEventListener('abort', () => {
      log.push('first');
      c.signal.addEventListener('abort', () => log.push('added during'));
    });
    c.abort();
    c.signal.addEventListener('abort', () => log.push('added after'));
    c.abort();
  },
  'an abort from inside a listener of another signal chains (route timeout → attempt)': (c, log) => {
    const inner = c instanceof Cancellation ? new Cancellation() : new AbortController();
    inner.signal.addEventListener('abort', () => log.push(`inner ${inner.signal.aborted}`));
    c.signal.addEventListener('abort', () => inner.abort());
    c.signal.addEventListener('abort', () => log.push('outer second'));
    c.abort();
  },
};

for (const [name, run] of Object.entries(scenarios)) {
  test(`cancellation: ${name} (as AbortController)`, () => {
    const expected: string[] = [];
    run(new AbortController() as unknown as Controller, expected);
    const got: string[] = [];
    run(new Cancellation(), got);
    assert.deepEqual(got, expected);
    assert.ok(expected.length > 0);
  });
}
