// Waypoint data path with real clients (curl, python3 http.client, hey, h2load) through a local
// plaintext listener that tunnels each connection over HBONE (what a node agent does): HTTP/1.0,
// a chunked GET, Expect: 100-continue uploads, HEAD, keep-alive reuse, load, and h2c.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { H2_PORT, VIP, seen, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const run = promisify(execFile);
const EXEC = { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 };

describe('waypoint with real clients', () => {
  let rig: WaypointRig;
  let port: number;
  let h2port: number;
  before(async () => {
    rig = await startWaypointRig();
    rig.config({});
    port = (await rig.plain()).port;
    h2port = (await rig.plain(`${VIP}:${H2_PORT}`)).port;
  });
  after(async () => rig.close());

  it('curl: HTTP/1.0, a chunked GET body, an Expect: 100-continue upload, HEAD', async () => {
    const ten = await run('curl', ['-sS', '--http1.0', '-D', '-', `http://127.0.0.1:${port}/curl/ten`], EXEC);
    assert.match(ten.stdout, /^HTTP\/1\.[01] 200/);
    assert.match(ten.stdout, /"url":"\/curl\/ten"/);

    const chunked = await run('sh', ['-c', `printf 'chunk-body' | curl -sS -X GET -H 'Transfer-Encoding: chunked' --data-binary @- http://127.0.0.1:${port}/curl/chunked-get`], EXEC);
    assert.equal(JSON.parse(chunked.stdout).body, 'chunk-body');
    assert.equal(rig.hits.findLast((h) => h.url === '/curl/chunked-get')!.method, 'GET');

    // curl sends Expect: 100-continue for bodies over 1 MiB and waits for the 100.
    const big = await run('sh', ['-c', `head -c 1100000 /dev/zero | tr '\\0' 'a' | curl -sS -v -X POST --data-binary @- http://127.0.0.1:${port}/curl/expect 2>&1`], EXEC);
    assert.match(big.stdout, /> Expect: 100-continue/);
    assert.match(big.stdout, /< HTTP\/1\.1 100 Continue/);
    assert.equal(rig.hits.findLast((h) => h.url === '/curl/expect')!.body.length, 1_100_000);
    assert.deepEqual(seen(rig.hits.findLast((h) => h.url === '/curl/expect')!, 'expect'), []);

    const head = await run('curl', ['-sS', '-I', `http://127.0.0.1:${port}/curl/head`], EXEC);
    assert.match(head.stdout, /^HTTP\/1\.1 200/);
  });

  it('python3 http.client: 100 requests on one keep-alive connection', async () => {
    const script = [
      'import http.client, json, sys',
      `c = http.client.HTTPConnection("127.0.0.1", ${port}, timeout=30)`,
      'for i in range(100):',
      '    c.request("POST" if i % 2 else "GET", f"/py/{i}", body=(b"x" * i) if i % 2 else None)',
      '    r = c.getresponse(); b = json.loads(r.read())',
      '    assert r.status == 200 and b["url"] == f"/py/{i}", (r.status, b)',
      '    assert b["body"] == ("x" * i if i % 2 else ""), b',
      'print(c.sock.getsockname()[1])',
    ].join('\n');
    const out = await run('python3', ['-c', script], EXEC);
    assert.match(out.stdout.trim(), /^\d+$/);
    assert.equal(rig.hits.filter((h) => h.url.startsWith('/py/')).length, 100);
  });

  it('hey: 400 requests over 8 connections, all answered 200', async () => {
    const out = await run('hey', ['-n', '400', '-c', '8', '-t', '30', `http://127.0.0.1:${port}/hey`], EXEC);
    assert.match(out.stdout, /\[200\]\s+400 responses/);
    assert.doesNotMatch(out.stdout, /Error distribution/);
  });

  it('h2load: h2c prior knowledge to an HTTP/1.1 cluster and to an HTTP/2 cluster', async () => {
    for (const p of [port, h2port]) {
      const out = await run('h2load', ['-n', '200', '-c', '2', '-m', '10', `http://127.0.0.1:${p}/h2load`], EXEC);
      assert.match(out.stdout, /requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored/);
      assert.match(out.stdout, /status codes: 200 2xx/);
    }
  });
});
