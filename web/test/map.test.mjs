// The map page in a real browser (Debian's chromium, headless), against the real `evgrid demo`.
// EVGRID_BIN names the binary (default: ../target/release/evgrid).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const bin = process.env.EVGRID_BIN || resolve('../target/release/evgrid');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let server, base, browser, dataDir;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'evgrid-web-'));
  server = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  base = await new Promise((ok, fail) => {
    const lines = createInterface({ input: server.stdout });
    lines.on('line', (l) => { const m = l.match(/^evgrid serving (http:\/\/[^/]+\/)/); if (m) ok(m[1]); });
    server.on('exit', (code) => fail(new Error(`evgrid exited ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function openMap(viewport) {
  const page = await browser.newPage({ viewport });
  const external = [];
  const errors = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) external.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await page.waitForFunction(() => window.evgridReady === true, null, { timeout: 60_000 });
  return { page, external, errors };
}

test('the map draws the counties and clustered stations offline, and a click opens a station', async () => {
  const { page, external, errors } = await openMap({ width: 1280, height: 800 });
  assert.deepEqual(external, [], 'no request leaves the server');
  assert.deepEqual(errors, []);
  // The offline base layer: the 18 real county boundaries.
  const counties = await page.evaluate(() => new Set(window.evgridMap.querySourceFeatures('counties').map((f) => f.properties.code)).size);
  assert.equal(counties, 18);
  // Stations are clustered at city scale and the counts add up to every station.
  const clustered = await page.evaluate(() => {
    const fs = window.evgridMap.querySourceFeatures('stations');
    const clusters = new Map();
    let single = 0;
    for (const f of fs) { if (f.properties.cluster) clusters.set(f.properties.cluster_id, f.properties.point_count); else single += 1; }
    return { clusters: clusters.size, points: [...clusters.values()].reduce((a, b) => a + b, 0) + single };
  });
  assert.ok(clustered.clusters > 5, `clusters: ${clustered.clusters}`);
  const summary = await (await fetch(base + 'api/v1/stats/summary')).json();
  assert.equal(clustered.points, summary.stations.total);
  assert.ok(await page.locator('.cluster').count() > 5, 'cluster markers drawn');
  assert.match(await page.locator('#chips').innerText(), /19,000/);
  await page.screenshot({ path: '../target/web-map.png' });

  // Zoom to a public station, then click it on the canvas.
  const list = await (await fetch(base + 'api/v1/stations?category=public&county=360731&page_size=1')).json();
  const station = list.items[0];
  await page.evaluate(([lng, lat]) => window.evgridMap.jumpTo({ center: [lng, lat], zoom: 17 }), [station.lng, station.lat]);
  await page.waitForFunction(() => window.evgridMap.loaded() && window.evgridMap.queryRenderedFeatures({ layers: ['station-points'] }).length > 0, null, { timeout: 30_000 });
  const target = await page.evaluate((id) => {
    const m = window.evgridMap;
    const f = m.queryRenderedFeatures({ layers: ['station-points'] }).find((x) => x.properties.id === id);
    if (!f) return null;
    const p = m.project(f.geometry.coordinates);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, station.id);
  assert.ok(target, 'the station is drawn as a point');
  await page.mouse.click(target.x, target.y);
  await page.waitForFunction((id) => window.evgridSelected === id, station.id, { timeout: 10_000 });
  await page.locator('#station-name').waitFor();
  assert.equal(await page.locator('#station-name').innerText(), station.name);
  assert.match(await page.locator('#panel-body').innerText(), /分时电价/);
  // Every connector shows its live status (one of the unified statuses, or not reported).
  const statuses = await page.locator('#panel-body td.status').allInnerTexts();
  assert.ok(statuses.length > 0);
  for (const cell of statuses) assert.match(cell, /空闲|充电中|占用|已预约|离线|故障|未上报/);
  await page.screenshot({ path: '../target/web-station.png' });

  // English.
  await page.click('#lang');
  assert.match(await page.locator('#panel-body').innerText(), /Time-of-use tariff/);
  await page.close();
});

test('the page works at phone width', async () => {
  const { page, errors } = await openMap({ width: 390, height: 780 });
  assert.deepEqual(errors, []);
  const box = await page.locator('#map').boundingBox();
  assert.ok(box.width <= 390 && box.height > 400, JSON.stringify(box));
  await page.screenshot({ path: '../target/web-phone.png' });
  await page.close();
});

test('the legend hides a category from the map', async () => {
  const { page } = await openMap({ width: 1000, height: 700 });
  const count = () => page.evaluate(() => {
    const fs = window.evgridMap.querySourceFeatures('stations');
    const ids = new Map();
    let n = 0;
    for (const f of fs) { if (f.properties.cluster) ids.set(f.properties.cluster_id, f.properties.point_count); else n += 1; }
    return [...ids.values()].reduce((a, b) => a + b, 0) + n;
  });
  const summary = await (await fetch(base + 'api/v1/stats/summary')).json();
  assert.equal(await count(), summary.stations.total);
  await page.uncheck('input[data-category="private"]');
  await page.waitForFunction((n) => {
    const fs = window.evgridMap.querySourceFeatures('stations');
    const ids = new Map(); let single = 0;
    for (const f of fs) { if (f.properties.cluster) ids.set(f.properties.cluster_id, f.properties.point_count); else single += 1; }
    return [...ids.values()].reduce((a, b) => a + b, 0) + single === n;
  }, summary.stations.total - summary.stations.private, { timeout: 20_000 });
  await page.screenshot({ path: '../target/web-public.png' });
  await page.close();
});
