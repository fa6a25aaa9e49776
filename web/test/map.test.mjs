// The map page in a real browser (Debian's chromium, headless), against the real `evgrid demo`.
// EVGRID_BIN names the binary (default: ../target/release/evgrid).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser } from '../testkit.mjs';

let demo, base, browser;
const REGULATOR_PASSWORD = 'regulator-browser-test';

before(async () => {
  demo = await startDemo([], { EVGRID_DEMO_REGULATOR_PASSWORD: REGULATOR_PASSWORD });
  base = demo.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  demo?.stop();
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

// --- the regulator's dashboard --------------------------------------------------------------

let token;
/** GET as the demo's regulator. */
async function api(path) {
  token ??= (await (await fetch(base + 'api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'regulator', password: REGULATOR_PASSWORD }) })).json()).token;
  return fetch(base + path.replace(/^\//, ''), { headers: { authorization: `Bearer ${token}` } });
}

async function openDashboard(viewport) {
  const page = await browser.newPage({ viewport });
  const external = [];
  const errors = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) external.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // A 401 is how the page learns it must show the login form; anything else is an error.
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text()); });
  await page.goto(base + 'dashboard');
  // Behind the regulator role: the login form first; a wrong password is refused.
  await page.waitForFunction(() => window.evgridLogin === true, null, { timeout: 30_000 });
  assert.equal(await page.locator('#main').isHidden(), true, 'no figures before login');
  await page.fill('#login-user', 'regulator');
  await page.fill('#login-pass', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, { timeout: 10_000 });
  assert.match(await page.locator('#login-error').innerText(), /用户名或密码错误/);
  await page.fill('#login-pass', REGULATOR_PASSWORD);
  await Promise.all([page.waitForEvent('load'), page.click('#login-form button[type=submit]')]);
  await page.waitForFunction(() => window.evgridReady === true, null, { timeout: 90_000 });
  assert.match(await page.locator('#who').innerText(), /regulator/);
  return { page, external, errors };
}

const shown = (page, key) => page.locator(`[data-figure="${key}"] .value`).innerText();
const number = (text) => Number(text.replace(/[^0-9.]/g, ''));

test('the dashboard shows the API\'s figures beside the city\'s reported ones', async () => {
  const { page, external, errors } = await openDashboard({ width: 1400, height: 1000 });
  assert.deepEqual(external, [], 'no request leaves the server');
  assert.deepEqual(errors, []);
  const summary = await (await api('api/v1/coverage/summary')).json();
  const stats = await (await fetch(base + 'api/v1/stats/summary')).json();

  // Piles: 19,000 in all, 13,000 public and dedicated / 6,000 private.
  assert.equal(number(await shown(page, 'piles')), stats.piles.total);
  assert.equal(stats.piles.total, 19_000);
  const split = await page.locator('[data-figure="piles"] .reported').innerText();
  assert.match(split, new RegExp(`${(stats.piles.public + stats.piles.dedicated).toLocaleString('en-US')} / ${stats.piles.private.toLocaleString('en-US')}`));
  assert.match(split, /13,000 \/ 6,000/);
  // Planning-norm radius 3.0 ± 0.1 km, as the API computes it.
  const radius = number(await shown(page, 'planning_radius_km'));
  assert.equal(radius, Number(summary.planning_radius_km.toFixed(2)));
  assert.ok(Math.abs(radius - 3.0) <= 0.1, `radius ${radius}`);
  assert.equal(number(await shown(page, 'mean_km')), Number(summary.service_radius.mean_km.toFixed(2)));
  // Townships: more than half covered; every hot spot covered.
  assert.equal(await shown(page, 'townships'), `${summary.townships.covered} / ${summary.townships.total}`);
  assert.ok(summary.townships.covered * 2 > summary.townships.total);
  assert.equal(await shown(page, 'hotspots'), `${summary.hotspots.total} / ${summary.hotspots.total}`);
  // The Zhangjiang circle and the people within 1/2/3/5 km.
  assert.equal(number(await shown(page, 'circle')), Number((summary.circle.share * 100).toFixed(1)));
  for (const [km, share] of Object.entries(summary.population_within_km)) {
    assert.equal(number(await shown(page, `within_${km}`)), Number((share * 100).toFixed(1)), `within ${km} km`);
  }

  // Targets with progress: piles from the registry.
  const targets = (await (await api('api/v1/targets')).json()).targets;
  const piles = targets.find((x) => x.id === 'charging_piles');
  assert.equal(number(await page.locator('[data-target="charging_piles"] .progress').innerText()), Number((piles.progress * 100).toFixed(1)));
  assert.equal(await page.locator('.target').count(), targets.length);

  // The map: 18 counties coloured by piles per 10,000 people, then the coverage heat map.
  const counties = await page.evaluate(() => new Set(window.evgridMap.querySourceFeatures('counties').map((f) => f.properties.code)).size);
  assert.equal(counties, 18);
  const density = await page.evaluate(() => window.evgridMap.querySourceFeatures('counties').map((f) => f.properties.piles_per_10k));
  assert.ok(density.every((d) => d > 0), 'every county has a density');
  await page.click('button[data-mode="heat"]');
  await page.waitForFunction(() => window.evgridMap.getLayoutProperty('heat', 'visibility') === 'visible', null, { timeout: 10_000 });
  const uncovered = await (await api('api/v1/coverage/townships?covered=false')).json();
  const marked = await page.evaluate(() => window.evgridMap.getSource('uncovered').serialize().data.features.length);
  assert.equal(marked, uncovered.townships.length);
  assert.equal(await page.locator('#uncovered tr[data-code]').count(), uncovered.townships.length);
  // Charts drawn, data quality for every operator.
  for (const id of ['chart-util', 'chart-faults', 'chart-power']) assert.equal(await page.locator(`#${id} canvas`).count(), 1, id);
  const quality = (await (await api('api/v1/operators/data-quality')).json()).operators;
  assert.equal(await page.locator('#quality tr[data-operator]').count(), quality.length);
  // Reporting upward: the demo's simulated province, its figures live from the API.
  const delivery = await (await api('api/v1/superiors/sim-province/delivery')).json();
  assert.equal(delivery.superior.profile.name, 'provincial');
  await page.waitForFunction(() => {
    const cell = document.querySelector('#superiors tr[data-superior="sim-province"] td.num');
    return cell !== null && Number(cell.textContent.replace(/[^0-9]/g, '')) > 0;
  }, null, { timeout: 40_000 });
  const sentShown = number(await page.locator('#superiors tr[data-superior="sim-province"] td.num').first().innerText());
  const sentNow = (await (await api('api/v1/superiors/sim-province/delivery')).json()).attempts.reduce((n, a) => n + a.count, 0);
  assert.ok(sentShown > 0 && sentShown <= sentNow, `sent ${sentShown} shown, ${sentNow} in the API`);
  await page.screenshot({ path: '../target/web-dashboard.png', fullPage: true });

  // Downloads: the workbook and a table's CSV.
  const xlsx = await api('api/v1/reports/regulator.xlsx');
  assert.equal((await fetch(base + 'api/v1/reports/regulator.xlsx')).status, 401, 'not without a login');
  assert.equal(xlsx.status, 200);
  assert.equal(Buffer.from(await xlsx.arrayBuffer()).subarray(0, 2).toString(), 'PK');
  const href = await page.locator('.exports a', { hasText: 'CSV' }).first().getAttribute('href');
  const csv = Buffer.from(await (await api(href)).arrayBuffer());
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a byte-order mark for Excel');
  assert.match(csv.subarray(3).toString('utf8'), /^code,name_zh/);

  // The monthly report (PDF), linked from the bar in the page's language.
  const monthly = await page.locator('#monthly').getAttribute('href');
  assert.match(monthly, /\/api\/v1\/reports\/monthly\.pdf\?lang=zh$/);
  const pdf = await api(monthly.replace(/^\//, ''));
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');

  // English.
  await page.click('#lang');
  assert.match(await page.locator('#monthly').getAttribute('href'), /lang=en$/);
  assert.equal(await page.locator('#monthly').innerText(), 'Monthly report (PDF)');
  assert.match(await page.locator('[data-figure="planning_radius_km"] .label').innerText(), /Planning-norm radius/);
  assert.match(await page.locator('#main h2').first().innerText(), /Counties and coverage/);
  await page.click('#lang');
  // Logging out brings the login form back.
  await Promise.all([page.waitForEvent('load'), page.click('#logout')]);
  await page.waitForFunction(() => window.evgridLogin === true, null, { timeout: 30_000 });
  await page.close();
});

test('the dashboard runs a siting plan and shows the proposed sites with before and after', async () => {
  const { page, errors } = await openDashboard({ width: 1400, height: 1000 });
  await page.fill('#plan-piles', '800');
  await page.selectOption('#plan-region', '');
  await page.click('#plan-run');
  await page.waitForFunction(() => window.evgridPlanDrawn > 0, null, { timeout: 180_000 });
  const href = await page.locator('#plan-exports a', { hasText: 'XLSX' }).getAttribute('href');
  const id = href.match(/plans\/(\d+)/)[1];
  const job = await (await api(`api/v1/plans/${id}`)).json();
  assert.equal(job.status, 'done');
  const r = job.result;
  assert.equal(r.sites.length, 80, 'one site per 10 piles');
  assert.equal(r.sites.reduce((a, s) => a + s.piles, 0), 800);
  assert.equal(await page.evaluate(() => window.evgridPlanDrawn), r.sites.length);
  assert.equal(await page.evaluate(() => window.evgridPlanMap.getSource('plan-sites').serialize().data.features.length), r.sites.length);
  assert.equal(await page.locator('#plan-sites tr[data-site]').count(), r.sites.length);
  // The before/after the page shows are the API's.
  const cell = (key, side) => page.locator(`[data-plan="${key}"] .${side}`).innerText();
  assert.equal(number(await cell('share_within_radius', 'before')), Number((r.before.share_within_radius * 100).toFixed(1)));
  assert.equal(number(await cell('share_within_radius', 'after')), Number((r.after.share_within_radius * 100).toFixed(1)));
  assert.equal(number(await cell('townships_covered', 'after')), r.after.townships_covered);
  assert.ok(r.after.townships_covered > r.before.townships_covered);
  assert.ok(r.after.share_within_radius > r.before.share_within_radius);
  const xlsx = await api(href);
  assert.equal(Buffer.from(await xlsx.arrayBuffer()).subarray(0, 2).toString(), 'PK');
  await page.locator('#plan').screenshot({ path: '../target/web-plan.png' });
  // English labels.
  await page.click('#lang');
  assert.match(await page.locator('#plan h2').innerText(), /Siting plan/);
  assert.match(await page.locator('[data-plan="townships_covered"] td').first().innerText(), /Townships covered/);
  await page.click('#lang');
  assert.deepEqual(errors, []);
  await page.close();
});
