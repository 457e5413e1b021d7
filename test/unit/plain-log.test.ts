// LOG_FORMAT=plain: ztunnel's text shape (time, level, target, message, then key=value fields),
// nested objects and errors on one readable line, and the agent's logger wired to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, targetLogger } from '../../src/common/log.js';
import { MeshError } from '../../src/common/errors.js';
import { formatPlainLine } from '../../src/common/plain-log.js';
import { loadConfig } from '../../src/config/index.js';
import { NodeAgent } from '../../src/bin/node-agent.js';

function plainLogger(level = 'info'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ level, format: 'plain', destination: { write: (s: string) => void lines.push(s) } });
  return { lines, logger };
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Splits a plain line into its tab-separated head and its fields. */
function parts(line: string): { time: string; level: string; target: string; msg: string; fields: string | undefined } {
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), `one line: ${JSON.stringify(line)}`);
  const [time, level, target, msg, fields, ...rest] = line.slice(0, -1).split('\t');
  assert.equal(rest.length, 0, `at most 5 tab-separated parts: ${JSON.stringify(line)}`);
  assert.match(time ?? '', TIME);
  return { time: time!, level: level!, target: target!, msg: msg!, fields };
}

test('an access record reads like ztunnel’s: time, level, target, message, then key=value fields', () => {
  const { lines, logger } = plainLogger();
  const access = targetLogger(logger, 'access');
  access.info(
    {
      'src.addr': '10.0.0.1:1234', 'src.workload': 'x', 'src.identity': 'spiffe://cluster.local/ns/default/sa/x',
      'dst.addr': '10.0.0.2:15008', 'dst.hbone_addr': '[fd00::2]:8080', direction: 'outbound', bytes_sent: 77, bytes_recv: 1018, duration: '3ms',
    },
    'connection complete',
  );
  assert.equal(lines.length, 1);
  const p = parts(lines[0]!);
  assert.deepEqual([p.level, p.target, p.msg], ['info', 'access', 'connection complete']);
  assert.equal(
    p.fields,
    'src.addr=10.0.0.1:1234 src.workload="x" src.identity="spiffe://cluster.local/ns/default/sa/x" dst.addr=10.0.0.2:15008 ' +
      'dst.hbone_addr=[fd00::2]:8080 direction="outbound" bytes_sent=77 bytes_recv=1018 duration="3ms"',
  );
});

test('component is the target; a record without fields has no trailing tab; levels by name', () => {
  const { lines, logger } = plainLogger('trace');
  const pool = logger.child({ component: 'pool' });
  pool.warn('pool full');
  logger.error('plain');
  pool.trace({ n: 1 }, 'tracing');
  const [a, b, c] = lines.map(parts);
  assert.deepEqual([a!.level, a!.target, a!.msg, a!.fields], ['warn', 'pool', 'pool full', undefined]);
  assert.deepEqual([b!.level, b!.target, b!.msg], ['error', 'ambit', 'plain']);
  assert.deepEqual([c!.level, c!.target, c!.fields], ['trace', 'pool', 'n=1']);
});

test('nested objects become dotted keys; arrays, null and empty objects stay readable', () => {
  const { lines, logger } = plainLogger();
  logger.info({ addresses: { admin: { address: '127.0.0.1', port: 15000 }, stats: undefined }, ids: ['a', 'b'], none: null, empty: {}, ok: true }, 'started');
  assert.equal(parts(lines[0]!).fields, 'addresses.admin.address="127.0.0.1" addresses.admin.port=15000 ids=["a","b"] none=null empty={} ok=true');
});

test('an error renders as err="<type>: <message>" with its cause and code, without the stack', () => {
  const { lines, logger } = plainLogger();
  const err = new MeshError('CONFIG_INVALID', 'bad file', { cause: new Error('root cause') });
  logger.error({ err, source: '/etc/mesh.yaml' }, 'rejected');
  const p = parts(lines[0]!);
  assert.equal(p.level, 'error');
  assert.match(p.fields ?? '', /^err="MeshError: bad file: root cause" err\.code="CONFIG_INVALID" /);
  assert.match(p.fields ?? '', / source="\/etc\/mesh.yaml"$/);
  assert.doesNotMatch(lines[0]!, /    at /, 'no stack frames');
});

test('control characters never break the line: a multi-line message and a CR/LF value are escaped', () => {
  const { lines, logger } = plainLogger();
  logger.info({ header: 'a\r\nb', 'weird\nkey': 1 }, 'invalid config:\n  - one\n  - two');
  const p = parts(lines[0]!);
  assert.equal(p.msg, 'invalid config:\\n  - one\\n  - two');
  assert.equal(p.fields, 'header="a\\r\\nb" weird\\nkey=1');
});

test('formatPlainLine passes a non-JSON line through instead of losing it', () => {
  assert.equal(formatPlainLine('not json'), 'not json\n');
});

test('LOG_FORMAT=plain reaches the agent’s logger; the default stays JSON', () => {
  const plain: string[] = [];
  const agent = new NodeAgent({ config: loadConfig([], { LOG_FORMAT: 'plain' }), logDestination: { write: (s: string) => void plain.push(s) } });
  agent.logger.child({ component: 'inbound' }).info({ n: 1 }, 'hello');
  const p = parts(plain[0]!);
  assert.deepEqual([p.level, p.target, p.msg, p.fields], ['info', 'inbound', 'hello', 'n=1']);
  const json: string[] = [];
  const agent2 = new NodeAgent({ config: loadConfig([], {}), logDestination: { write: (s: string) => void json.push(s) } });
  agent2.logger.info('hello');
  assert.equal((JSON.parse(json[0]!) as { msg: string }).msg, 'hello');
});
