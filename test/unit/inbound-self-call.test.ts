// Inbound HBONE target validation on the built-in example (workload default/local on 127.0.0.1,
// admin on 127.0.0.1:15000): the host proxy refuses every own listener, an in-pod proxy only its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import type { HboneInboundRequest } from '../../src/hbone/index.js';
import { LocalWorkloads, OwnListeners, PodView, proxyListeners, serverListeners, type LocalView } from '../../src/proxy/index.js';
import { InboundHandler, type InboundInputs } from '../../src/proxy/inbound.js';
import { ProxyState } from '../../src/state/index.js';
import { EMBEDDED_EXAMPLE_YAML, parseLocalConfig } from '../../src/xds/index.js';

const config = loadConfig([], {});
const state = new ProxyState();
state.apply(parseLocalConfig(EMBEDDED_EXAMPLE_YAML, 'embedded').snapshot);

/** resolveTarget reads config, state, the local view and the own listeners only. */
function handler(local: LocalView, ownListeners: OwnListeners): InboundHandler {
  return new InboundHandler({ config, state, local, ownListeners } as unknown as InboundInputs);
}

// The host proxy as NodeProxy builds it from the default config (admin 127.0.0.1, the rest on ::).
const host = handler(
  new LocalWorkloads(state, config),
  new OwnListeners({ listeners: () => [...proxyListeners(config, config.bindAddress), ...serverListeners(config)], localAddresses: () => ['127.0.0.1', '::1'] }),
);
// An in-pod proxy for default/local as PodProxy builds it.
const pod = handler(
  new PodView(state, 'Kubernetes//Pod/default/local'),
  new OwnListeners({ listeners: () => proxyListeners(config, '::'), localAddresses: () => ['127.0.0.1'] }),
);

function connect(authority: string): HboneInboundRequest {
  return {
    authority,
    localAddress: { ip: '127.0.0.1', port: 15008 },
    remoteAddress: { ip: '127.0.0.2', port: 40000 },
    headers: {},
    peerIdentity: 'spiffe://cluster.local/ns/default/sa/default',
  } as unknown as HboneInboundRequest;
}

const cases: Array<{ authority: string; host: 'SELF_CALL' | 'ok'; pod: 'SELF_CALL' | 'ok' }> = [
  { authority: '127.0.0.1:15000', host: 'SELF_CALL', pod: 'ok' },
  { authority: '127.0.0.1:15020', host: 'SELF_CALL', pod: 'ok' },
  { authority: '127.0.0.1:15021', host: 'SELF_CALL', pod: 'ok' },
  { authority: '127.0.0.1:15001', host: 'SELF_CALL', pod: 'SELF_CALL' },
  { authority: '127.0.0.1:15006', host: 'SELF_CALL', pod: 'SELF_CALL' },
  { authority: '127.0.0.1:15008', host: 'SELF_CALL', pod: 'SELF_CALL' },
  { authority: '127.0.0.1:15080', host: 'SELF_CALL', pod: 'SELF_CALL' },
  { authority: '127.0.0.1:8080', host: 'ok', pod: 'ok' },
  // By service hostname: example.com:80 maps to 8080 on the workload.
  { authority: 'example.com:80', host: 'ok', pod: 'ok' },
];

for (const c of cases) {
  for (const [scope, h] of [['host', host], ['in-pod', pod]] as const) {
    const expected = scope === 'host' ? c.host : c.pod;
    test(`inbound ${scope} proxy, built-in example: CONNECT ${c.authority} → ${expected}`, () => {
      if (expected === 'ok') {
        const t = h.resolveTarget(connect(c.authority));
        assert.equal(t.workload.name, 'local');
      } else {
        assert.throws(() => h.resolveTarget(connect(c.authority)), (err: Error & { code?: string; status?: number }) => {
          assert.equal(err.code, 'SELF_CALL');
          assert.equal(err.status, 503, 'ztunnel answers 503 for its own ports');
          return true;
        });
      }
    });
  }
}
