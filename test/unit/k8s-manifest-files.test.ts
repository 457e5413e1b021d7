// One manifests file's text → objects and rejections: documents read one at a time, yet a file with any
// bad document is refused whole with the first bad document named and its YAML error located.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseManifestFile } from '../../src/k8s/manifest-files.js';
import { goodObject } from '../helpers/k8s-good-objects.js';

const docs = (...parts: string[]): string => parts.join('---\n');

test('documents in order, empty ones skipped, Lists expanded, namespaces defaulted', () => {
  const text = docs(
    stringify(goodObject('Namespace', 'shop')),
    '# only a comment\n',
    stringify({ apiVersion: 'v1', kind: 'List', items: [goodObject('ServiceAccount', 'a'), goodObject('ServiceAccount', 'b', 'shop')] }),
    stringify({ ...goodObject('Pod', 'p'), metadata: { name: 'p' } }),
  );
  const r = parseManifestFile('f.yaml', text);
  assert.ok(r.parsed);
  assert.deepEqual(
    r.accepted.map((a) => [a.object.kind, a.object.metadata.namespace ?? '', a.object.metadata.name, a.place.documentIndex, a.place.pathPrefix ?? '']),
    [
      ['Namespace', '', 'shop', 0, ''],
      ['ServiceAccount', 'default', 'a', 2, 'items[0]'],
      ['ServiceAccount', 'shop', 'b', 2, 'items[1]'],
      ['Pod', 'default', 'p', 3, ''],
    ],
  );
});

test('a YAML error in a later document refuses the whole file, naming that document and the line', () => {
  const text = docs(stringify(goodObject('Namespace', 'a')), stringify(goodObject('Namespace', 'b')), 'kind: Pod\nmetadata: {name: [unclosed\n');
  const r = parseManifestFile('f.yaml', text);
  assert.equal(r.parsed, false);
  assert.ok(!r.parsed);
  assert.equal(r.rejection.documentIndex, 2);
  assert.match(r.rejection.reason, /^not valid YAML: .*line \d+/);
});

test('an alias bomb is refused (the conversion limit), naming its document', () => {
  const bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
  const r = parseManifestFile('f.yaml', docs(stringify(goodObject('Namespace', 'a')), bomb));
  assert.ok(!r.parsed);
  assert.equal(r.rejection.documentIndex, 1);
  assert.match(r.rejection.reason, /^not valid YAML: .*alias/i);
});
