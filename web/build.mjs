// Builds dist/ (index.html, app.js, app.css) from src/ and maplibre-gl; the server embeds dist/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'eof',
  outfile: 'dist/app.js',
  logLevel: 'warning',
});
const css = readFileSync('node_modules/maplibre-gl/dist/maplibre-gl.css', 'utf8') + '\n' + readFileSync('src/style.css', 'utf8');
writeFileSync('dist/app.css', css);
copyFileSync('src/index.html', 'dist/index.html');
console.log('built web/dist');
