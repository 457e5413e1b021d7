// The in-pod capture mode settings: own-rules by default, zds with istio-cni's socket, and the
// combinations refused with a reason naming the settings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { loadConfig } from '../../src/config/index.js';

const load = (env: Record<string, string>, argv: string[] = []) => loadConfig(argv, env, { cpus: 2 });

test('default: own-rules, and the socket is ztunnel\'s default path', () => {
  assert.deepEqual(load({}).inpod, { mode: 'own-rules', uds: '/var/run/ztunnel/ztunnel.sock' });
});

const OK: ReadonlyArray<{ name: string; env: Record<string, string>; argv?: string[]; inpod: unknown }> = [
  { name: 'zds with the default socket', env: { AMBIT_INPOD_MODE: 'zds' }, inpod: { mode: 'zds', uds: '/var/run/ztunnel/ztunnel.sock' } },
  { name: 'zds with INPOD_UDS', env: { AMBIT_INPOD_MODE: 'zds', INPOD_UDS: '/run/cni/z.sock' }, inpod: { mode: 'zds', uds: '/run/cni/z.sock' } },
  { name: 'flags', env: {}, argv: ['--inpod-mode', 'zds', '--inpod-uds=/tmp/z.sock'], inpod: { mode: 'zds', uds: '/tmp/z.sock' } },
  { name: 'own-rules spelled out', env: { AMBIT_INPOD_MODE: 'own-rules' }, inpod: { mode: 'own-rules', uds: '/var/run/ztunnel/ztunnel.sock' } },
  { name: 'INPOD_UDS alone selects zds (a ztunnel deployment sets just that)', env: { INPOD_UDS: '/var/run/ztunnel/ztunnel.sock' }, inpod: { mode: 'zds', uds: '/var/run/ztunnel/ztunnel.sock' } },
];

for (const c of OK) {
  test(`accepted: ${c.name}`, () => assert.deepEqual(load(c.env, c.argv).inpod, c.inpod));
}

const BAD: ReadonlyArray<{ name: string; env: Record<string, string>; reason: RegExp }> = [
  { name: 'INPOD_UDS with own-rules', env: { INPOD_UDS: '/run/z.sock', AMBIT_INPOD_MODE: 'own-rules' }, reason: /INPOD_UDS: only used with AMBIT_INPOD_MODE=zds .*but AMBIT_INPOD_MODE=own-rules; unset one of them/ },
  { name: 'INPOD_UDS in dedicated mode', env: { INPOD_UDS: '/run/z.sock', PROXY_MODE: 'dedicated', PROXY_WORKLOAD_INFO: 'ns/n/sa' }, reason: /in-pod capture is shared mode only/ },
  { name: 'an unknown mode', env: { AMBIT_INPOD_MODE: 'cni' }, reason: /AMBIT_INPOD_MODE="cni": expected one of own-rules \| zds/ },
  { name: 'zds in dedicated mode', env: { AMBIT_INPOD_MODE: 'zds', PROXY_MODE: 'dedicated', PROXY_WORKLOAD_INFO: 'ns/n/sa' }, reason: /AMBIT_INPOD_MODE=zds: in-pod capture is shared mode only/ },
];

for (const c of BAD) {
  test(`refused: ${c.name}`, () => {
    assert.throws(() => load(c.env), (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && c.reason.test(err.message));
  });
}
