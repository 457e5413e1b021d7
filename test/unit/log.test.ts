// Root level changes reach component child loggers but not separate targets (the access log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, targetLogger } from '../../src/common/log.js';

test('a root level change reaches component children, not target loggers', () => {
  const lines: string[] = [];
  const root = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
  const component = root.child({ component: 'pool' });
  const grandchild = component.child({ key: 'x' });
  const access = targetLogger(root, 'access');
  root.level = 'debug';
  assert.equal(component.level, 'debug');
  assert.equal(grandchild.level, 'debug');
  assert.equal(access.level, 'info');
  component.debug('visible now');
  access.debug('not visible');
  access.level = 'debug';
  root.level = 'warn';
  assert.equal(access.level, 'debug');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /visible now/);
});
