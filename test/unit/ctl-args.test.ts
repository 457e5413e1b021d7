// `ambit ctl` command-line parsing, table-driven: subcommands, target addresses and their defaults,
// output formats, filters, and every refusal with the message a person reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { formatAddress, parseAddress, parseCtlArgs, type CtlArgs } from '../../src/ctl/index.js';

const parses: Array<[string, string[], Partial<CtlArgs> & { host?: string; port?: number; kind?: string }]> = [
  ['no arguments: help', [], { command: 'help' }],
  ['--help anywhere: help', ['workloads', '--help'], { command: 'help' }],
  ['help word', ['help'], { command: 'help' }],
  ['defaults: node agent on loopback 15000, table', ['workloads'], { command: 'workloads', kind: 'node-agent', host: '127.0.0.1', port: 15000, output: 'table', timeoutMs: 5000 }],
  ['routes defaults to a waypoint on 15000', ['routes'], { command: 'routes', kind: 'waypoint', host: '127.0.0.1', port: 15000 }],
  ['--node-agent host:port', ['services', '--node-agent', '10.0.0.7:16000'], { kind: 'node-agent', host: '10.0.0.7', port: 16000 }],
  ['--node-agent=value form', ['services', '--node-agent=10.0.0.7:16000'], { host: '10.0.0.7', port: 16000 }],
  ['--control default port 15014', ['workloads', '--control', 'istiod.local'], { kind: 'control', host: 'istiod.local', port: 15014 }],
  ['--control :port is loopback', ['all', '--control', ':25014'], { kind: 'control', host: '127.0.0.1', port: 25014 }],
  ['http:// prefix and trailing slash', ['policies', '--node-agent', 'http://127.0.0.2:15000/'], { host: '127.0.0.2', port: 15000 }],
  ['bracketed IPv6 with port', ['workloads', '--node-agent', '[::1]:15001'], { host: '::1', port: 15001 }],
  ['bare IPv6 takes the default port', ['workloads', '--node-agent', '::1'], { host: '::1', port: 15000 }],
  ['--waypoint for routes', ['routes', '--waypoint', '127.0.0.1:25000'], { kind: 'waypoint', port: 25000 }],
  ['--waypoint for workloads (its dump has them)', ['workloads', '--waypoint', '127.0.0.1:25000'], { kind: 'waypoint', command: 'workloads' }],
  ['-o json', ['workloads', '-o', 'json'], { output: 'json' }],
  ['--output=yaml', ['workloads', '--output=yaml'], { output: 'yaml' }],
  ['-n namespace', ['services', '-n', 'demo'], { namespace: 'demo' }],
  ['--namespace=', ['services', '--namespace=demo'], { namespace: 'demo' }],
  ['explain with from and to', ['explain', '--from', 'default/sleep', '--to', 'reviews:9080'], { command: 'explain', from: 'default/sleep', to: 'reviews:9080' }],
  ['--raw for connections', ['connections', '--raw'], { raw: true }],
  ['--timeout duration', ['workloads', '--timeout', '750ms'], { timeoutMs: 750 }],
];

for (const [name, argv, want] of parses) {
  test(`parseCtlArgs: ${name}`, () => {
    const got = parseCtlArgs(argv);
    const { host, port, kind, ...rest } = want;
    for (const [k, v] of Object.entries(rest)) assert.deepEqual(got[k as keyof CtlArgs], v, k);
    if (host !== undefined) assert.equal(got.target.host, host);
    if (port !== undefined) assert.equal(got.target.port, port);
    if (kind !== undefined) assert.equal(got.target.kind, kind);
  });
}

const refusals: Array<[string, string[], RegExp]> = [
  ['unknown command', ['pods'], /unknown command "pods"; one of: workloads, services, policies, certificates, connections, all, explain, routes/],
  ['unknown flag', ['workloads', '--verbose'], /unknown flag --verbose/],
  ['flag without value', ['workloads', '--node-agent'], /--node-agent needs a value/],
  ['flag twice', ['workloads', '-n', 'a', '--namespace', 'b'], /--namespace given twice/],
  ['extra positional', ['workloads', 'extra'], /unexpected argument "extra" after workloads/],
  ['two targets', ['workloads', '--node-agent', 'a', '--control', 'b'], /--node-agent and --control both given/],
  ['bad output', ['workloads', '-o', 'wide'], /-o wide: one of table, json, yaml/],
  ['certificates from the control plane', ['certificates', '--control', 'x'], /certificates are held by each node agent: use --node-agent/],
  ['connections from the control plane', ['connections', '--control', 'x'], /connections are tracked by each node agent/],
  ['explain from the control plane', ['explain', '--control', 'x', '--from', 'a/b', '--to', 'c:1'], /explain runs on a node agent/],
  ['explain from a waypoint', ['explain', '--waypoint', 'x', '--from', 'a/b', '--to', 'c:1'], /explain runs on a node agent/],
  ['routes from a node agent', ['routes', '--node-agent', 'x'], /routes reads a waypoint's admin API: use --waypoint/],
  ['explain without --to', ['explain', '--from', 'default/sleep'], /explain needs --from .* and --to/],
  ['--from outside explain', ['workloads', '--from', 'a/b'], /--from and --to are for explain/],
  ['--namespace with explain', ['explain', '--from', 'a/b', '--to', 'c:1', '-n', 'x'], /--namespace does not apply to explain/],
  ['--raw outside connections', ['services', '--raw'], /--raw is for connections/],
  ['bad timeout', ['workloads', '--timeout', '5'], /--timeout 5: a duration such as 5s/],
  ['https address', ['workloads', '--node-agent', 'https://x:15000'], /speak plain HTTP/],
  ['port out of range', ['workloads', '--node-agent', 'x:70000'], /port "70000" is not 1-65535/],
  ['unbracketed IPv6 with port', ['workloads', '--node-agent', 'fd00::1:15000:1'], /write an IPv6 address in brackets/],
  ['path in the address', ['workloads', '--node-agent', 'x:1/config_dump'], /expected host:port/],
];

for (const [name, argv, message] of refusals) {
  test(`parseCtlArgs refuses: ${name}`, () => {
    assert.throws(
      () => parseCtlArgs(argv),
      (err: unknown) => isMeshError(err, 'CTL_USAGE') && message.test(err.message),
    );
  });
}

test('formatAddress brackets IPv6 and round-trips through parseAddress', () => {
  for (const text of ['127.0.0.1:15000', '[::1]:15000', 'node-a.local:15000']) {
    assert.equal(formatAddress(parseAddress(text, 1, '--x')), text);
  }
});
