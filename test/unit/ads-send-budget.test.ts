// The send budget shared by all ADS streams: small responses never wait, large ones fit under the limit
// or go alone, waiters are served in order (a woken one keeps its place), grants return once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendBudget } from '../../src/controlplane/ads/send-budget.js';

const budget = (): SendBudget => new SendBudget({ limitBytes: 100, smallBytes: 10 });

test('small responses always go, even with the budget full and others waiting', () => {
  const b = budget();
  const big = b.tryAcquire(100, () => assert.fail('not woken'))!;
  assert.equal(b.tryAcquire(60, () => undefined), undefined);
  assert.ok(b.tryAcquire(10, () => assert.fail('never waits')), 'at smallBytes: goes');
  assert.equal(b.inFlightBytes, 100, 'small grants are not counted');
  big.release();
});

test('large responses share the limit; one larger than the limit goes when nothing else is in flight', () => {
  const b = budget();
  const g1 = b.tryAcquire(60, () => undefined)!;
  const g2 = b.tryAcquire(40, () => undefined)!;
  assert.equal(b.inFlightBytes, 100);
  g1.release();
  g2.release();
  const huge = b.tryAcquire(500, () => undefined);
  assert.ok(huge, 'alone, over the limit');
  assert.equal(b.tryAcquire(11, () => undefined), undefined, 'nothing else meanwhile');
  huge!.release();
});

test('waiters are woken in order as room frees; newcomers queue behind them; a woken one that still does not fit keeps its place', () => {
  const b = budget();
  const woken: string[] = [];
  const held = b.tryAcquire(90, () => undefined)!;
  const grants: Record<string, { release(): void }> = {};
  const waiter = (name: string, size: number, retry = size): (() => void) => {
    const wake = (): void => {
      woken.push(name);
      const g = b.tryAcquire(retry, wake, true);
      if (g) grants[name] = g;
    };
    assert.equal(b.tryAcquire(size, wake), undefined, `${name} waits`);
    return wake;
  };
  waiter('a', 50);
  waiter('b', 50, 80); // b's plan has grown by the time it is woken
  waiter('c', 20);
  assert.equal(b.waiting, 3);
  assert.equal(b.tryAcquire(11, () => undefined), undefined, 'a newcomer that would fit still queues behind the waiters');
  held.release(); // room for a and b's first size, but b grew to 80: 50 + 80 > 100
  assert.deepEqual(woken, ['a', 'b']);
  assert.ok(grants['a'] && !grants['b']);
  assert.equal(b.waiting, 3, 'b back at the front, c and the newcomer behind it');
  grants['a']!.release();
  assert.deepEqual(woken, ['a', 'b', 'b', 'c']);
  assert.equal(b.inFlightBytes, 100);
});

test('a grant is returned once however often it is released; a cancelled waiter is never woken', () => {
  const b = budget();
  const g = b.tryAcquire(100, () => undefined)!;
  const wake = (): void => assert.fail('cancelled');
  assert.equal(b.tryAcquire(50, wake), undefined);
  b.cancel(wake);
  g.release();
  g.release();
  assert.equal(b.inFlightBytes, 0);
  assert.equal(b.waiting, 0);
});
