// Builds dist/vent-client.js (+ dist/vent-client.min.js): ONE ES module (the
// files of src/ concatenated in dependency order, their relative imports
// removed, and `export` kept only on the names src/index.js re-exports) that
// a page can load with <script type="module">. Also copies it to
// demo/public/vent-client.js when that folder exists. No bundler: the sources
// are plain ES modules with no dependencies. Prints the sizes (raw and gzip).
//
//   node clients/js/build.mjs [--check]   (--check: fail if outputs are stale)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = (f) => fs.readFileSync(path.join(here, 'src', f), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));

const FILES = ['util.js', 'ejson.js', 'errors.js', 'history.js', 'subscription.js', 'auth.js', 'transport.js', 'vent-client.js', 'meteor.js', 'sockjs.js'];
const localImport = /^import\s[^;]*from\s+'\.\/[^']+';\n/gm;

// The public names: every `export { a, b } from './x.js'` of src/index.js.
const publicNames = new Set();
for (const m of src('index.js').matchAll(/^export\s*\{([^}]*)\}\s*from/gm)) {
  for (const name of m[1].split(',')) publicNames.add(name.trim());
}
const listed = new Set(FILES);
for (const f of fs.readdirSync(path.join(here, 'src'))) {
  if (f.endsWith('.js') && f !== 'index.js' && !listed.has(f)) throw new Error(`src/${f} is not in build.mjs FILES`);
}

const defined = new Set();
const parts = FILES.map((f) => {
  let text = src(f).replace(localImport, '');
  if (/^import\s/m.test(text)) throw new Error(`${f}: non-local import left; the dist file must be standalone`);
  if (/^export\s*\{/m.test(text)) throw new Error(`${f}: use \`export\` on declarations, not export lists`);
  text = text.replace(/^export\s+(class|function|const|let)\s+([A-Za-z_$][\w$]*)/gm, (all, kind, name) => {
    if (defined.has(name)) throw new Error(`${f}: ${name} is declared twice in src/`);
    defined.add(name);
    return publicNames.has(name) ? all : `${kind} ${name}`;
  });
  return `// ---- src/${f}\n${text}`;
});
for (const name of publicNames) {
  if (!defined.has(name)) throw new Error(`src/index.js exports ${name}, which no src file declares`);
}
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
