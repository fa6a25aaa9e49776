// Builds dist/ (the map: index.html, app.js, app.css; the regulator's dashboard: dashboard.html,
// dashboard.js, dashboard.css; the driver's app: driver.html, driver.js, driver.css) from src/,
// maplibre-gl and echarts; the server embeds dist/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

mkdirSync('dist', { recursive: true });
for (const [entry, out] of [['src/main.ts', 'dist/app.js'], ['src/dashboard.ts', 'dist/dashboard.js'], ['src/driver.ts', 'dist/driver.js']]) {
  await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    legalComments: 'eof',
    outfile: out,
    logLevel: 'warning',
  });
}
const maplibreCss = readFileSync('node_modules/maplibre-gl/dist/maplibre-gl.css', 'utf8');
writeFileSync('dist/app.css', maplibreCss + '\n' + readFileSync('src/style.css', 'utf8'));
writeFileSync('dist/driver.css', maplibreCss + '\n' + readFileSync('src/driver.css', 'utf8'));
copyFileSync('src/index.html', 'dist/index.html');
copyFileSync('src/dashboard.html', 'dist/dashboard.html');
copyFileSync('src/driver.html', 'dist/driver.html');
copyFileSync('src/dashboard.css', 'dist/dashboard.css');
console.log('built web/dist');
