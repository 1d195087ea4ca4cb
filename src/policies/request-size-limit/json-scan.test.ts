import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanJson } from './json-scan.js';

const scan = (text: string, limits: Parameters<typeof scanJson>[1]) => scanJson(Buffer.from(text), limits);

describe('scanJson', () => {
  it('measures depth of objects and arrays, not brackets inside strings', () => {
    assert.equal(scan('{"a":{"b":[1,[2]]}}', { maxDepth: 4 }), undefined);
    assert.equal(scan('{"a":{"b":[1,[2]]}}', { maxDepth: 3 }), 'depth>3');
    assert.equal(scan('{"a":"[[[[[[[[{{{{{{"}', { maxDepth: 1 }), undefined);
    assert.equal(
      scan('{"a":"\\"[[[["}', { maxDepth: 1 }),
      undefined,
      'escaped quote does not end the string',
    );
    assert.equal(scan('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', { maxDepth: 32 }), 'depth>32');
  });

  it('counts array elements and object keys per container', () => {
    assert.equal(scan('[1,2,3]', { maxArrayLength: 3 }), undefined);
    assert.equal(scan('[1,2,3,4]', { maxArrayLength: 3 }), 'array>3');
    assert.equal(scan('[]', { maxArrayLength: 0 }), undefined);
    assert.equal(scan('[ ]', { maxArrayLength: 0 }), undefined);
    assert.equal(scan('[1]', { maxArrayLength: 0 }), 'array>0');
    assert.equal(scan('{"a":[1,2],"b":[3,4]}', { maxArrayLength: 2, maxObjectKeys: 2 }), undefined);
    assert.equal(scan('{"a":1,"b":2,"c":3}', { maxObjectKeys: 2 }), 'keys>2');
    assert.equal(scan('{"a":"x,y,z,w"}', { maxObjectKeys: 1 }), undefined, 'commas in strings do not count');
  });
});
