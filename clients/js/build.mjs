// Builds dist/vent-client.js (+ dist/vent-client.min.js): ONE ES module (src/vent-client.js followed by
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

// A conservative .min.js: drops whole-line comments, blank lines and
// indentation only (no renaming, no trailing-comment stripping: '//' occurs in
// strings). Refuses sources with multi-line template literals, where
// indentation would be content.
function minify(text) {
  return text.split('\n').map((line) => {
    if ((line.match(/`/g) || []).length % 2) throw new Error(`multi-line template literal: ${line}`);
    return line.trim();
  }).filter((line) => line && !line.startsWith('//')).join('\n') + '\n';
}
const min = `// vent-client ${pkg.version} (minified by build.mjs)\n${minify(out)}`;

const targets = [[path.join(here, 'dist', 'vent-client.js'), out], [path.join(here, 'dist', 'vent-client.min.js'), min]];
const demo = path.resolve(here, '..', '..', 'demo', 'public');
if (fs.existsSync(demo)) targets.push([path.join(demo, 'vent-client.js'), out]);

const check = process.argv.includes('--check');
let stale = [];
for (const [t, text] of targets) {
  if (check) {
    if (!fs.existsSync(t) || fs.readFileSync(t, 'utf8') !== text) stale.push(t);
    continue;
  }
  fs.mkdirSync(path.dirname(t), { recursive: true });
  fs.writeFileSync(t, text);
}
if (stale.length) {
  console.error(`stale build outputs (run node clients/js/build.mjs):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
const size = (s) => `${Buffer.byteLength(s)} bytes, ${zlib.gzipSync(s, { level: 9 }).length} gzip`;
console.log(`${check ? 'up to date' : 'wrote'}: ${targets.map(([t]) => path.relative(process.cwd(), t)).join(', ')}\n` +
  `  vent-client.js ${size(out)}; vent-client.min.js ${size(min)}`);
