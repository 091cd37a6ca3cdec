// Builds dist/vent-client.js: ONE ES module (src/vent-client.js followed by
// src/meteor.js with its relative import removed) that a page can load with
// <script type="module">. Also copies it to demo/public/vent-client.js when
// that folder exists. No bundler: the sources are plain ES modules with no
// dependencies. Prints the sizes (raw and gzip).
//
//   node clients/js/build.mjs [--check]   (--check: fail if outputs are stale)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = (f) => fs.readFileSync(path.join(here, 'src', f), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));

const localImport = /^import\s[^;]*from\s+'\.\/[^']+';\n/gm;
const parts = ['vent-client.js', 'meteor.js'].map((f) => {
  const text = src(f).replace(localImport, '');
  if (/^import\s/m.test(text)) throw new Error(`${f}: non-local import left; the dist file must be standalone`);
  return `// ---- src/${f}\n${text}`;
});
const out = `// vent-client ${pkg.version} (built from clients/js/src by build.mjs; do not edit)\n` +
  parts.join('\n');

const targets = [path.join(here, 'dist', 'vent-client.js')];
const demo = path.resolve(here, '..', '..', 'demo', 'public');
if (fs.existsSync(demo)) targets.push(path.join(demo, 'vent-client.js'));

const check = process.argv.includes('--check');
let stale = [];
for (const t of targets) {
  if (check) {
    if (!fs.existsSync(t) || fs.readFileSync(t, 'utf8') !== out) stale.push(t);
    continue;
  }
  fs.mkdirSync(path.dirname(t), { recursive: true });
  fs.writeFileSync(t, out);
}
if (stale.length) {
  console.error(`stale build outputs (run node clients/js/build.mjs):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
const gz = zlib.gzipSync(out, { level: 9 }).length;
console.log(`${check ? 'up to date' : 'wrote'}: ${targets.map((t) => path.relative(process.cwd(), t)).join(', ')}` +
  ` (${out.length} bytes, ${gz} gzip)`);
