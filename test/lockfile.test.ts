import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

// Issue 11: `npm install` in a fresh clone rewrote package-lock.json (it added Biome's
// other-platform binaries, which the lock lacked), and `npm ci` refused the lock. A lock as npm
// writes it has an entry for every dependency, optional ones included, whatever the platform.
describe('package-lock.json', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, LockEntry>;
  };

  /** Where node resolves `name` from the package at `from`: the nearest node_modules up the tree. */
  function resolves(from: string, name: string): boolean {
    let dir = from;
    for (;;) {
      if (lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`]) return true;
      if (!dir) return false;
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  }

  it('has an entry for every dependency, optional ones of every platform included', () => {
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const names = {
        ...entry.dependencies,
        ...entry.optionalDependencies,
        ...(path === '' ? entry.devDependencies : {}),
      };
      for (const name of Object.keys(names))
        if (!resolves(path, name)) missing.push(`${path || '(root)'} -> ${name}`);
    }
    assert.deepEqual(missing, []);
  });

  it('pins the versions package.json asks for', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const root = lock.packages[''];
    assert.deepEqual(root.dependencies, pkg.dependencies);
    assert.deepEqual(root.devDependencies, pkg.devDependencies);
  });
});
