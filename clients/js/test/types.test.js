// index.d.ts against `tsc --strict` (the npm `typescript` package from the
// root package-lock.json): the README's examples with the `ws` package
// (types/ws-example.ts) and with the DOM's WebSocket (types/dom-example.ts)
// must compile, and every `@ts-expect-error` line in them must be an error
// (e.g. `new VentSubscription()`), else tsc reports TS2578.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function runTsc(project) {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', path.join(here, 'types', project)], { cwd: root, timeout: 120000 },
        (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

for (const project of ['tsconfig.ws.json', 'tsconfig.dom.json']) {
  test(`tsc --strict -p types/${project}`, async () => {
    const { code, out } = await runTsc(project);
    assert.equal(code, 0, `tsc failed:\n${out}`);
  });
}
