// The driver's app in a real browser (Debian's chromium, headless, phone-sized), against the real
// `evgrid demo` with its simulated operator platforms (T/CEC) and directly connected chargers
// (OCPP): register, find a free charger near a point, start, watch the energy rise, stop, and the
// itemized order with the right total; in Chinese and in English; a refused start says why.
// On failure, a screenshot of each main screen reached is saved under web/test-output/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bin, startDemo, launchBrowser } from '../testkit.mjs';

const PHONE = { width: 390, height: 844 };
let demo, base, browser, dataDir;

before(async () => {
  demo = await startDemo(['--no-faults', '--chargers', '24']);
  ({ base, dataDir } = demo);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

const api = async (path) => (await fetch(new URL(path, base))).json();

/** Runs `body(page, shot)` on a fresh phone-sized page; on failure saves the screens it reached. */
async function onPhone(name, lang, body) {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, locale: lang === 'en' ? 'en-US' : 'zh-CN' });
  await context.addInitScript((l) => { if (!localStorage.getItem('evgrid.lang')) localStorage.setItem('evgrid.lang', l); }, lang);
  const page = await context.newPage();
  const errors = [];
  const external = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:')) external.push(u); });
  const screens = [];
  const shot = async (screen) => { screens.push([screen, await page.screenshot({ fullPage: true })]); };
  try {
    await body(page, shot);
    assert.deepEqual(errors, [], 'no script errors');
    assert.deepEqual(external, [], 'no request leaves the server');
  } catch (e) {
    const dir = resolve('test-output', name);
    mkdirSync(dir, { recursive: true });
    screens.push(['at-failure', await page.screenshot({ fullPage: true }).catch(() => Buffer.alloc(0))]);
    screens.forEach(([screen, png], i) => writeFileSync(join(dir, `${String(i).padStart(2, '0')}-${screen}.png`), png));
    console.error(`screenshots of ${name}: ${dir}`);
    throw e;
  } finally {
    await context.close();
  }
}

async function register(page, username) {
  await page.goto(`${base}app#/login`);
  await page.waitForFunction(() => window.evgridAppReady === true);
  await page.fill('#username', username);
  await page.fill('#password', 'a driver password');
  await page.click('#do-register');
  await page.waitForFunction(() => window.evgridView === 'list');
}

/** Opens the list near a point with the given filters, and returns the station ids listed. */
async function listNear(page, { lat, lng }, filters = {}) {
  await page.goto(`${base}app?lat=${lat}&lng=${lng}&at=${Date.now()}#/list`); // a new document each time
  await page.waitForFunction(() => window.evgridAppReady === true && window.evgridView === 'list');
  await page.waitForSelector('.station-card, #results .muted:not(:empty)');
  for (const [id, value] of Object.entries(filters)) {
    const answered = page.waitForResponse((r) => r.url().includes('/api/v1/search/stations'));
    if (typeof value === 'boolean') await page.setChecked(`#${id}`, value); else await page.selectOption(`#${id}`, value);
    await answered;
  }
  await page.waitForSelector('.station-card');
  return page.$$eval('.station-card', (cards) => cards.map((c) => c.dataset.id));
}

const kwhShown = (page) => page.$eval('#c-kwh', (el) => Number(el.textContent));

/** Starts on the first connector of the listed stations matching `want`; returns the charge id.
 * Statuses arrive with the operators' pushes: when none matches yet, lists again (`relist`). */
async function startOnFirst(page, shot, stations, want, relist = async () => stations) {
  for (let round = 0; round < 6; round += 1) {
    const id = await tryStations(page, shot, stations, want);
    if (id) return id;
    await page.waitForTimeout(5000);
    stations = await relist();
  }
  throw new Error(`no station listed had a free ${JSON.stringify(want)} connector`);
}

async function tryStations(page, shot, stations, want) {
  for (const id of stations) {
    await page.click(`.station-card[data-id="${id}"]`);
    await page.waitForFunction((sid) => window.evgridView === 'station' && window.evgridStation?.id === sid, id);
    const connector = await page.$$eval('.connector', (lis, w) => lis.map((li) => li.dataset).find((d) => d.status === 'available' && d.source.startsWith(w.source) && (!w.current || d.current === w.current))?.connector, want);
    if (connector) {
      await shot('station');
      await page.click(`.connector[data-connector="${connector}"] button.start`);
      // The charge view is shown before its charge is read: wait for the charge itself.
      await page.waitForFunction(() => (window.evgridView === 'charge' && window.evgridCharge?.id) || !document.getElementById('start-error').hidden, null, { timeout: 40_000 });
      const error = await page.$eval('#start-error', (el) => (el.hidden ? '' : el.textContent)).catch(() => '');
      if (!error) return page.evaluate(() => window.evgridCharge.id);
    }
    await page.goBack();
    await page.waitForSelector('.station-card');
  }
  return null;
}

/** Watches the charge: energy shown and rising; then stops it and checks the itemized order. */
async function chargeStopAndCheckOrder(page, shot, texts) {
  await page.waitForFunction(() => Number(document.getElementById('c-kwh').textContent) > 0, null, { timeout: 90_000 });
  const first = await kwhShown(page);
  assert.equal(await page.textContent('#c-state'), texts.charging);
  await shot('charging');
  await page.waitForFunction((e) => Number(document.getElementById('c-kwh').textContent) > e, first, { timeout: 90_000 });
  assert.equal(await page.textContent('#c-stop'), texts.stop);
  await page.click('#c-stop');
  await page.waitForSelector('#order:not([hidden])', { timeout: 90_000 });
  await shot('order');
  assert.equal(await page.textContent('#c-state'), texts.finished);
  const id = await page.evaluate(() => window.evgridCharge.id);
  // The page's order is the API's: the same total, periods that add up to it.
  const charge = await page.evaluate(async (cid) => (await fetch(`/api/v1/sessions/${cid}`)).json(), id);
  const total = charge.live.total_money;
  assert.ok(total > 0, JSON.stringify(charge.live));
  const yuan = (fen) => `¥ ${(fen / 100).toFixed(2)}`;
  assert.equal(await page.textContent('#o-total'), yuan(total));
  assert.equal(await page.textContent('#o-elec'), yuan(charge.live.electricity_money));
  assert.equal(await page.textContent('#o-service'), yuan(charge.live.service_money));
  const rows = await page.$$eval('#o-periods tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td.n')].map((td) => Math.round(Number(td.textContent.replace('¥', '').trim()) * 100))));
  assert.equal(rows.length, charge.live.periods.length);
  assert.equal(rows.reduce((a, [, e, s]) => a + e + s, 0), total, 'the periods add up to the total');
  assert.equal(await page.textContent('#o-ref'), charge.live.session_ref, "the operator's order id");
  // The receipt opens with the same total; the order is in the driver's history.
  const receipt = await page.evaluate(async (href) => { const r = await fetch(href); return [r.status, await r.text()]; }, await page.getAttribute('#o-receipt', 'href'));
  assert.equal(receipt[0], 200);
  assert.ok(receipt[1].includes(`<b id=total>${yuan(total)}</b>`));
  await page.click('a[data-tab="orders"]');
  await page.waitForSelector(`.order[data-id="${id}"]`);
  assert.ok((await page.textContent(`.order[data-id="${id}"]`)).includes(yuan(total)));
  await shot('orders');
  return charge;
}

test('a driver registers, finds a free DC charger of an operator platform near a point, charges and gets the order (中文)', async () => {
  await onPhone('tcec-zh', 'zh', async (page, shot) => {
    await register(page, 'driver-zh');
    const stations = await listNear(page, { lat: 25.8306, lng: 114.9328 }, { 'f-current': 'dc' });
    await shot('list');
    // Every station listed has a free connector (the filter), all within the page's list.
    const free = await page.$$eval('.station-card .free', (els) => els.map((e) => Number(e.textContent)));
    assert.ok(free.every((n) => n > 0), `free counts ${free}`);
    const near = { lat: 25.8306, lng: 114.9328 };
    const id = await startOnFirst(page, shot, stations, { source: 'tcec', current: 'dc' }, () => listNear(page, near, { 'f-current': 'dc' }));
    assert.ok(id);
    const charge = await chargeStopAndCheckOrder(page, shot, { charging: '充电中', stop: '停止充电', finished: '已结束' });
    assert.equal(charge.channel, 'tcec');
    // On the way to 于都: stations within 2 km of the road there, in order along it.
    await page.click('a[data-tab="list"]');
    await page.waitForSelector('.station-card');
    const along = page.waitForResponse((r) => r.url().includes('/api/v1/search/route'));
    await page.selectOption('#f-route', '360731');
    assert.equal((await along).status(), 200);
    await page.waitForFunction(() => document.getElementById('near').textContent.startsWith('沿途至 于都县'));
    const positions = await page.$$eval('.station-card .dist', (els) => els.map((e) => Number(e.textContent.split(' ')[0])));
    assert.ok(positions.length > 0, 'stations along the way');
    assert.ok(positions.every((p, i) => i === 0 || p >= positions[i - 1]), `ordered along the route: ${positions}`);
    await shot('along-route');
    // The map view shows the stations around, coloured by availability, on the offline base layer.
    await page.click('a[data-tab="map"]');
    await page.waitForFunction(() => window.evgridReady === true && window.evgridMapStations > 0, null, { timeout: 60_000 });
    const counties = await page.evaluate(() => new Set(window.evgridMap.querySourceFeatures('counties').map((f) => f.properties.code)).size);
    assert.ok(counties >= 1);
    await shot('map');
  });
});

test('the same in English, on a charger connected directly by OCPP', async () => {
  const out = execFileSync(bin, ['charger', 'list', '--json', '--data-dir', dataDir], { env: { ...process.env, RUST_LOG: 'warn' } });
  const chargers = JSON.parse(out.toString());
  const stationId = `${chargers[0].operator_id}:${chargers[0].station_id}`;
  const station = await api(`/api/v1/stations/${stationId}`);
  await onPhone('ocpp-en', 'en', async (page, shot) => {
    await register(page, 'driver-en');
    assert.equal(await page.textContent('a[data-tab="list"] span'), 'List');
    const stations = await listNear(page, { lat: station.lat, lng: station.lng }, { 'f-free': false });
    assert.ok(stations.includes(stationId), `${stationId} listed near its own position`);
    await shot('list');
    const id = await startOnFirst(page, shot, [stationId], { source: 'ocpp' });
    assert.ok(id);
    const charge = await chargeStopAndCheckOrder(page, shot, { charging: 'Charging', stop: 'Stop charging', finished: 'Finished' });
    assert.equal(charge.channel, 'ocpp');
    // Reserve a free connector of the station, see it under My reservations, cancel it.
    await page.goto(`${base}app#/station/${stationId}`);
    await page.waitForFunction((sid) => window.evgridStation?.id === sid, stationId);
    const free = await page.$eval('.connector button.reserve', (b) => b.closest('.connector').dataset.connector);
    await page.click(`.connector[data-connector="${free}"] button.reserve`);
    await page.waitForFunction((c) => document.querySelector(`.connector[data-connector="${c}"] button.reserve`).textContent.startsWith('Reserved until'), free, { timeout: 40_000 });
    await shot('reserved');
    await page.click('a[data-tab="orders"]');
    await page.waitForSelector('#reservations:not([hidden]) .reservation');
    assert.equal(await page.$$eval('.reservation', (lis) => lis.length), 1);
    await page.click('.reservation button.cancel');
    await page.waitForSelector('#reservations[hidden]', { state: 'attached' });
    const mine = await page.evaluate(async () => (await fetch('/api/v1/me/reservations')).json());
    assert.deepEqual(mine.map((r) => r.status), ['cancelled']);
  });
});

/** A connector of an operator platform that is charging now, and its station. */
async function busyConnector() {
  const near = await api('/api/v1/search/stations?lat=25.8306&lng=114.9328&radius_m=20000&k=60&category=public');
  for (let attempt = 0; attempt < 30; attempt += 1) {
    for (const s of near.items) {
      const detail = await api(`/api/v1/stations/${s.station_id}`);
      const c = detail.equipment.flatMap((e) => e.connectors).find((x) => x.status === 'charging' && !x.status_stale && (x.status_source ?? '').startsWith('tcec'));
      if (c) return { station: s.station_id, connector: `${detail.operator_id}:${c.id}` };
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('no charging connector of an operator platform');
}

/** Taps start on a busy connector: the message shown, or null when the connector had become
 * free meanwhile (statuses move every second in the demo; that charge is stopped again). */
async function tapStartOnBusy(page, shot) {
  const busy = await busyConnector();
  await page.goto(`${base}app#/station/${busy.station}`);
  await page.waitForFunction((sid) => window.evgridStation?.id === sid, busy.station);
  await shot('station');
  await page.click(`.connector[data-connector="${busy.connector}"] button.start`);
  await page.waitForFunction(() => (window.evgridView === 'charge' && window.evgridCharge?.id) || !document.getElementById('start-error').hidden, null, { timeout: 40_000 });
  if ((await page.evaluate(() => window.evgridView)) === 'charge') {
    await page.evaluate(async () => fetch(`/api/v1/sessions/${window.evgridCharge.id}/stop`, { method: 'POST' }));
    return null;
  }
  assert.equal(await page.evaluate(() => window.evgridView), 'station', 'stays on the station page');
  return page.textContent('#start-error');
}

test('a start the operator refuses says why, in Chinese and in English', async () => {
  await onPhone('refused', 'zh', async (page, shot) => {
    await register(page, 'driver-refused');
    let zh = null;
    for (let i = 0; i < 4 && !zh; i += 1) zh = await tapStartOnBusy(page, shot);
    assert.match(zh ?? '', /^启动失败: 运营商 EVGSYN\d{3}: .*充电枪未(就绪|插好) \(FailReason \d+\)$/);
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    let en = null;
    for (let i = 0; i < 4 && !en; i += 1) en = await tapStartOnBusy(page, shot);
    assert.match(en ?? '', /^Could not start: operator EVGSYN\d{3} says the connector is not ready: .+ \(FailReason \d+\)$/);
    await shot('refused');
    // The refusals are in the driver's history, as refused.
    const mine = await page.evaluate(async () => (await fetch('/api/v1/me/sessions')).json());
    assert.ok(mine.filter((c) => c.status === 'refused').length >= 2, JSON.stringify(mine));
  });
});
