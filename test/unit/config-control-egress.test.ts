// `ambit control`'s outbound traffic policy setting (Istio meshConfig.outboundTrafficPolicy.mode):
// default, variable, flag over variable, and a bad value refused naming the setting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { loadControlConfig } from '../../src/config/index.js';

const BASE = { AMBIT_MANIFESTS: '/tmp/none' };

test('outboundTrafficPolicy: ALLOW_ANY by default, REGISTRY_ONLY from the variable, the flag wins', () => {
  assert.equal(loadControlConfig([], BASE).outboundTrafficPolicy, 'ALLOW_ANY');
  assert.equal(loadControlConfig([], { ...BASE, AMBIT_OUTBOUND_TRAFFIC_POLICY: 'REGISTRY_ONLY' }).outboundTrafficPolicy, 'REGISTRY_ONLY');
  assert.equal(loadControlConfig(['--outbound-traffic-policy', 'ALLOW_ANY'], { ...BASE, AMBIT_OUTBOUND_TRAFFIC_POLICY: 'REGISTRY_ONLY' }).outboundTrafficPolicy, 'ALLOW_ANY');
});

test('outboundTrafficPolicy: an unknown mode is refused, naming the variable and the value', () => {
  assert.throws(
    () => loadControlConfig([], { ...BASE, AMBIT_OUTBOUND_TRAFFIC_POLICY: 'registry_only' }),
    (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && err.message.includes('AMBIT_OUTBOUND_TRAFFIC_POLICY="registry_only"'),
  );
});
