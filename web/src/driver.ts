// The driver's app: find a charger of any operator near you (map or list, with the filters
// drivers use), see its live status and today's prices, start it, watch the charge, stop it and
// get the itemized order. Phone-width first, zh-CN by default with an English switch. The map's
// base layer is the city's own county boundaries and township centres: no tiles, no CDN.
import maplibregl from 'maplibre-gl';
import type { GeoJSONSource, MapGeoJSONFeature } from 'maplibre-gl';

type Lang = 'zh' | 'en';
const TEXT: Record<Lang, Record<string, string>> = {
  zh: {
    brand: '一站式充电', lang: 'EN', free_now: '空闲', any_current: '交直流', dc: '直流快充', ac: '交流慢充',
    any_type: '接口', t_dc_plug: '直流枪', t_ac_plug: '交流枪', t_ac_socket: '交流插座', t_household_socket: '家用插座',
    t_wireless: '无线', t_other: '其他', any_power: '功率', open_now: '营业中', max_price: '≤ 元/度', operator: '运营商',
    by_distance: '按距离', by_price: '按价格', locate: '定位', lg_free: '有空闲', lg_busy: '全忙', lg_stale: '状态过期',
    soc: '电池 SoC', cost_so_far: '已产生费用', duration: '时长', stop: '停止充电', order: '订单', order_ref: '运营商订单号',
    start: '开始', end: '结束', energy: '电量', period: '时段', elec_fee: '电费', service_fee: '服务费', total: '合计',
    receipt: '收据 (可打印)', my_charges: '我的充电', login_title: '登录或注册', username: '用户名', password: '密码',
    login: '登录', register: '注册新账号', password_rule: '密码至少 10 个字符', tab_map: '地图', tab_list: '列表',
    tab_orders: '订单', tab_login: '登录', tab_account: '退出', synthetic: '演示数据为合成数据', near: '附近',
    km: '公里', free_of: '空闲', price_now: '当前价格', yuan_kwh: '元/度', open: '营业中', closed: '已打烊',
    hours: '营业时间', parking: '停车费', payment: '支付方式', address: '地址', schedule: '今日分时电价 (北京时间)',
    connectors: '充电枪', start_charge: '开始充电', login_to_charge: '登录后充电', none_found: '附近没有符合条件的充电站',
    st_available: '空闲', st_charging: '充电中', st_occupied: '占用', st_reserved: '已预约', st_offline: '离线',
    st_faulted: '故障', st_unknown: '未上报', stale: '状态过期', s_requested: '正在启动…', s_started: '已启动',
    s_refused: '启动失败', s_stop_requested: '正在停止…', l_starting: '启动中', l_charging: '充电中', l_stopping: '停止中',
    l_finished: '已结束', l_failed: '失败', waiting: '等待充电桩响应…', start_failed: '启动失败: ', stop_failed: '停止失败: ',
    no_orders: '还没有充电记录', dispute: '对账不一致: ', logged_in_as: '', now: '当前', busy_hint: '可能被占用, 由运营商确认',
    via_ocpp: '直连 OCPP', via_tcec: '运营商平台 T/CEC', loading: '加载中…', login_needed: '请先登录',
    bad_login: '用户名或密码错误', taken: '用户名已被注册', power: '功率', price_unknown: '未公布',
    reserve: '预约 15 分钟', reserved_until: '已预约, 保留至 ', reserve_failed: '预约失败: ', my_reservations: '我的预约',
    cancel: '取消预约', r_reserved: '保留中', r_refused: '被拒绝', r_cancelled: '已取消', r_used: '已使用', r_expired: '已过期',
    r_requested: '请求中', export_xlsx: '导出订单 (Excel)', near_me: '我附近', along_to: '沿途至 ', along: '沿途',
  },
  en: {
    brand: 'One-stop charging', lang: '中文', free_now: 'Free now', any_current: 'AC/DC', dc: 'DC fast', ac: 'AC',
    any_type: 'Plug', t_dc_plug: 'DC plug', t_ac_plug: 'AC plug', t_ac_socket: 'AC socket', t_household_socket: 'Household',
    t_wireless: 'Wireless', t_other: 'Other', any_power: 'Power', open_now: 'Open now', max_price: '≤ ¥/kWh', operator: 'Operator',
    by_distance: 'Nearest', by_price: 'Cheapest', locate: 'Locate', lg_free: 'free', lg_busy: 'all busy', lg_stale: 'stale',
    soc: 'Battery SoC', cost_so_far: 'Cost so far', duration: 'Duration', stop: 'Stop charging', order: 'Order',
    order_ref: "Operator's order id", start: 'Start', end: 'End', energy: 'Energy', period: 'Period',
    elec_fee: 'Electricity', service_fee: 'Service', total: 'Total', receipt: 'Receipt (printable)',
    my_charges: 'My charges', login_title: 'Log in or register', username: 'Username', password: 'Password',
    login: 'Log in', register: 'Create account', password_rule: 'Password: at least 10 characters', tab_map: 'Map',
    tab_list: 'List', tab_orders: 'Charges', tab_login: 'Log in', tab_account: 'Log out', synthetic: 'Demo data is synthetic',
    near: 'Near', km: 'km', free_of: 'free', price_now: 'Price now', yuan_kwh: '¥/kWh', open: 'open', closed: 'closed',
    hours: 'Opening hours', parking: 'Parking', payment: 'Payment', address: 'Address',
    schedule: "Today's time-of-use prices (China time)", connectors: 'Connectors', start_charge: 'Start charging',
    login_to_charge: 'Log in to charge', none_found: 'No station nearby matches', st_available: 'available',
    st_charging: 'charging', st_occupied: 'occupied', st_reserved: 'reserved', st_offline: 'offline', st_faulted: 'faulted',
    st_unknown: 'not reported', stale: 'stale', s_requested: 'Starting…', s_started: 'Started', s_refused: 'Start failed',
    s_stop_requested: 'Stopping…', l_starting: 'Starting', l_charging: 'Charging', l_stopping: 'Stopping',
    l_finished: 'Finished', l_failed: 'Failed', waiting: 'Waiting for the charger…', start_failed: 'Could not start: ',
    stop_failed: 'Could not stop: ', no_orders: 'No charges yet', dispute: 'Reconciliation mismatch: ', logged_in_as: '',
    now: 'now', busy_hint: 'may be in use; the operator decides', via_ocpp: 'direct OCPP', via_tcec: 'operator platform T/CEC',
    loading: 'Loading…', login_needed: 'Please log in first', bad_login: 'Wrong username or password',
    taken: 'That username is taken', power: 'Power', price_unknown: 'not published',
    reserve: 'Reserve 15 min', reserved_until: 'Reserved until ', reserve_failed: 'Could not reserve: ',
    my_reservations: 'My reservations', cancel: 'Cancel', r_reserved: 'held', r_refused: 'refused',
    r_cancelled: 'cancelled', r_used: 'used', r_expired: 'expired', r_requested: 'requested',
    export_xlsx: 'Export orders (Excel)', near_me: 'Near me', along_to: 'On the way to ', along: 'along the way',
  },
};

/** The server's reasons (English) in Chinese: the known openings are translated, the rest
 * (operator ids, FailReason codes) kept. */
const ZH_REASONS: [RegExp, string][] = [
  [/^operator (\w+) says the connector is not ready: the gun is not plugged in/, '运营商 $1: 充电枪未插好'],
  [/^operator (\w+) says the connector is not ready: the equipment check failed/, '运营商 $1: 设备检测未通过, 充电枪未就绪'],
  [/^operator (\w+) says the connector is not ready/, '运营商 $1: 充电枪未就绪'],
  [/^operator (\w+) refused to (start|stop): equipment not found/, '运营商 $1 拒绝操作: 设备不存在'],
  [/^operator (\w+) refused to (start|stop): equipment offline/, '运营商 $1 拒绝操作: 设备离线'],
  [/^operator (\w+) refused to stop: already stopped/, '运营商 $1: 充电已停止'],
  [/^operator (\w+) refused to (start|stop)/, '运营商 $1 拒绝操作'],
  [/^operator (\w+) did not answer/, '运营商 $1 未响应, 请稍后再试'],
  [/^operator (\w+) takes no calls from evgrid.*/, '运营商 $1 尚未开通互联互通充电'],
  [/^charger (\S+) is not connected/, '充电桩 $1 不在线'],
  [/^charger (\S+) refused to start/, '充电桩 $1 拒绝启动 (可能已被占用或预约)'],
  [/^charger (\S+) refused the reservation/, '充电桩 $1 拒绝预约 (可能已被占用)'],
  [/^the charger has not begun the transaction yet.*/, '充电桩尚未开始充电, 请稍后再试'],
];
function reason(text: string): string {
  if (lang !== 'zh') return text;
  const known = ZH_REASONS.find(([re]) => re.test(text));
  return known ? text.replace(known[0], known[1]) : text;
}

let lang: Lang = (localStorage.getItem('evgrid.lang') as Lang) || 'zh';
const t = (key: string) => TEXT[lang][key] ?? key;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const yuan = (fen: number | null | undefined) => (fen == null ? '–' : `¥ ${(fen / 100).toFixed(2)}`);
const kwh = (wh: number | null | undefined) => (wh == null ? '–' : (wh / 1000).toFixed(2));
const pricePerKwh = (p: number) => (p / 10000).toFixed(4); // hundredths of a fen per kWh → yuan
/** China time (UTC+8 all year) as `MM-DD HH:MM`, or `YYYY-MM-DD HH:MM:SS` in full. */
function chinaTime(unix: number | null | undefined, full = false): string {
  if (unix == null) return '–';
  const iso = new Date((unix + 8 * 3600) * 1000).toISOString();
  return full ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}
function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}
async function api(path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const text = await res.text();
  const body = text ? (() => { try { return JSON.parse(text); } catch { return text; } })() : null;
  if (!res.ok) throw new ApiError(res.status, body?.detail ?? body?.title ?? `${res.status}`);
  return body;
}
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  api(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

// ---- state ------------------------------------------------------------------------------------
const query = new URLSearchParams(location.search);
let position = {
  lat: Number(query.get('lat')) || 25.8531,
  lng: Number(query.get('lng')) || 114.9348,
};
let me: { username: string; role: string } | null = null;
let results: any[] = [];
let currentView = '';
let events: EventSource | null = null;
let ticker: number | undefined;
const w = window as any;

/** The driver's filters as query parameters (shared by the search near a point and along a route). */
function filterParams(): URLSearchParams {
  const q = new URLSearchParams({ k: '100', category: 'public' });
  if ($<HTMLInputElement>('f-free').checked) q.set('free_now', 'true');
  if ($<HTMLInputElement>('f-open').checked) q.set('open_now', 'true');
  const current = $<HTMLSelectElement>('f-current').value;
  if (current) q.set('current', current);
  const type = $<HTMLSelectElement>('f-type').value;
  if (type) q.set('connector_type', type);
  const power = $<HTMLSelectElement>('f-power').value;
  if (power) q.set('min_power_kw', power);
  const price = Number($<HTMLInputElement>('f-price').value);
  if ($<HTMLInputElement>('f-price').value !== '' && price >= 0) q.set('max_price_fen', String(Math.round(price * 100)));
  const operator = $<HTMLInputElement>('f-operator').value.trim().split(' ')[0];
  if (/^[A-Za-z0-9]{9}$/.test(operator)) q.set('operator', operator.toUpperCase());
  q.set('sort', $<HTMLSelectElement>('f-sort').value);
  return q;
}
function filterQuery(radiusM: number, lat = position.lat, lng = position.lng): string {
  const q = filterParams();
  q.set('lat', lat.toFixed(6));
  q.set('lng', lng.toFixed(6));
  q.set('radius_m', String(Math.round(radiusM)));
  return `/api/v1/search/stations?${q}`;
}
/** County seats, the destinations offered for a search along the way. */
let seats: { code: string; name_zh: string; name_pinyin: string; seat_lat: number; seat_lng: number }[] = [];
function renderDestinations() {
  const select = $<HTMLSelectElement>('f-route');
  const chosen = select.value;
  select.innerHTML = `<option value="">${t('near_me')}</option>` + seats.map((c) => `<option value="${c.code}">${t('along_to')}${esc(lang === 'zh' ? c.name_zh : c.name_pinyin)}</option>`).join('');
  select.value = chosen;
}

function availability(s: any): 'ok' | 'busy' | 'stale' {
  if (s.free > 0) return 'ok';
  return s.stale >= s.connectors ? 'stale' : 'busy';
}
const COLORS = { ok: '#1a9850', busy: '#f28e2b', stale: '#9aa4ad' };

// ---- list -------------------------------------------------------------------------------------
let listRadius = 5000;
async function loadList() {
  const destination = seats.find((c) => c.code === $<HTMLSelectElement>('f-route').value);
  $('near').textContent = destination
    ? `${t('along_to')}${lang === 'zh' ? destination.name_zh : destination.name_pinyin} · 2 ${t('km')}`
    : `${t('near')} ${position.lat.toFixed(4)}, ${position.lng.toFixed(4)} · ${listRadius / 1000} ${t('km')}`;
  $('results').innerHTML = `<li class="muted">${t('loading')}</li>`;
  const answer = destination
    ? await postJson(`/api/v1/search/route?${filterParams()}`, {
      points: [{ lat: position.lat, lng: position.lng }, { lat: destination.seat_lat, lng: destination.seat_lng }], corridor_m: 2000,
    })
    : await api(filterQuery(listRadius));
  results = answer.items;
  rememberOperators(results);
  renderList();
}
function renderList() {
  $('results').innerHTML = results.length
    ? results.map((s) => `<li class="station-card" data-id="${esc(s.station_id)}" data-availability="${availability(s)}">
        <div class="row"><b class="name">${esc(s.name)}</b><span class="dist">${s.along_m != null ? `${(s.along_m / 1000).toFixed(1)} ${t('km')} ${t('along')} · ` : ''}${(s.distance_m / 1000).toFixed(1)} ${t('km')}</span></div>
        <div class="row"><span class="pill ${availability(s)}"><b class="free">${s.free}</b>/${s.connectors} ${t('free_of')}${s.stale ? ` · ${s.stale} ${t('stale')}` : ''}</span>
        <span>${s.price_now_fen_per_kwh != null ? `${(s.price_now_fen_per_kwh / 100).toFixed(2)} ${t('yuan_kwh')}` : t('price_unknown')}</span>
        <span class="${s.open_now === false ? 'closed' : ''}">${s.open_now === false ? t('closed') : esc(s.business_hours ?? '')}</span></div>
        <div class="muted small">${esc(s.operator_id)}</div></li>`).join('')
    : `<li class="muted">${t('none_found')}</li>`;
  $('results').querySelectorAll<HTMLElement>('.station-card').forEach((el) => el.addEventListener('click', () => { location.hash = `#/station/${el.dataset.id}`; }));
}
const operatorNames = new Set<string>();
function rememberOperators(items: any[]) {
  for (const s of items) operatorNames.add(s.operator_id);
  $('operators').innerHTML = [...operatorNames].sort().map((o) => `<option value="${esc(o)}">`).join('');
}

// ---- map --------------------------------------------------------------------------------------
let map: maplibregl.Map | null = null;
const clusterMarkers = new Map<number, maplibregl.Marker>();
function updateClusterMarkers() {
  if (!map) return;
  const seen = new Set<number>();
  for (const f of map.querySourceFeatures('stations') as MapGeoJSONFeature[]) {
    const p = f.properties as any;
    if (!p.cluster) continue;
    seen.add(p.cluster_id);
    if (clusterMarkers.has(p.cluster_id)) { clusterMarkers.get(p.cluster_id)!.addTo(map); continue; }
    const el = document.createElement('div');
    el.className = 'cluster';
    el.style.background = p.free > 0 ? COLORS.ok : p.fresh > 0 ? COLORS.busy : COLORS.stale;
    el.textContent = String(p.point_count);
    const at = (f.geometry as any).coordinates;
    el.addEventListener('click', async () => {
      const zoom = await (map!.getSource('stations') as GeoJSONSource).getClusterExpansionZoom(p.cluster_id);
      map!.easeTo({ center: at, zoom });
    });
    clusterMarkers.set(p.cluster_id, new maplibregl.Marker({ element: el }).setLngLat(at).addTo(map));
  }
  for (const [id, m] of clusterMarkers) if (!seen.has(id)) { m.remove(); clusterMarkers.delete(id); }
}
async function loadMapStations() {
  if (!map || !map.getSource('stations')) return;
  const c = map.getCenter();
  const b = map.getBounds();
  const radius = Math.min(100_000, Math.max(1000, c.distanceTo(b.getNorthEast())));
  const answer = await api(filterQuery(radius, c.lat, c.lng));
  results = answer.items;
  rememberOperators(results);
  for (const m of clusterMarkers.values()) m.remove();
  clusterMarkers.clear();
  (map.getSource('stations') as GeoJSONSource).setData({
    type: 'FeatureCollection',
    features: results.map((s) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: [s.lng, s.lat] },
      properties: { id: s.station_id, name: s.name, free: s.free, fresh: s.connectors - s.stale, availability: availability(s) },
    })),
  });
  w.evgridMapStations = results.length;
}
function initMap() {
  if (map) { map.resize(); return; }
  map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9eef2' } }] },
    center: [position.lng, position.lat], zoom: 12, attributionControl: false,
  });
  w.evgridMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.on('load', async () => {
    const [counties, regions] = await Promise.all([api('/api/v1/map/counties'), api('/api/v1/regions')]);
    map!.addSource('counties', { type: 'geojson', data: counties });
    map!.addLayer({ id: 'county-fill', type: 'fill', source: 'counties', paint: { 'fill-color': '#fbfcf8' } });
    map!.addLayer({ id: 'county-line', type: 'line', source: 'counties', paint: { 'line-color': '#7a8a99', 'line-width': 1.2 } });
    map!.addSource('townships', {
      type: 'geojson',
      data: { type: 'FeatureCollection', features: regions.townships.map((x: any) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.lng, x.lat] }, properties: { code: x.code, name: x.name_zh } })) },
    });
    map!.addLayer({ id: 'township-dots', type: 'circle', source: 'townships', paint: { 'circle-radius': 3, 'circle-color': '#b8c2cc' } });
    map!.addSource('stations', {
      type: 'geojson', data: { type: 'FeatureCollection', features: [] }, cluster: true, clusterRadius: 40, clusterMaxZoom: 14,
      clusterProperties: { free: ['+', ['get', 'free']], fresh: ['+', ['get', 'fresh']] },
    });
    map!.addLayer({ id: 'clusters', type: 'circle', source: 'stations', filter: ['has', 'point_count'], paint: { 'circle-radius': 1, 'circle-opacity': 0 } });
    map!.addLayer({
      id: 'station-points', type: 'circle', source: 'stations', filter: ['!', ['has', 'point_count']],
      paint: {
        'circle-color': ['match', ['get', 'availability'], 'ok', COLORS.ok, 'busy', COLORS.busy, COLORS.stale],
        'circle-radius': 8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      },
    });
    map!.addSource('me', { type: 'geojson', data: { type: 'Point', coordinates: [position.lng, position.lat] } });
    map!.addLayer({ id: 'me', type: 'circle', source: 'me', paint: { 'circle-radius': 6, 'circle-color': '#2166ac', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
    map!.on('click', 'station-points', (e) => { const f = e.features?.[0]; if (f) location.hash = `#/station/${(f.properties as any).id}`; });
    map!.on('render', () => { if (map!.isSourceLoaded('stations')) updateClusterMarkers(); });
    map!.on('moveend', () => { void loadMapStations(); });
    await loadMapStations();
    map!.once('idle', () => { w.evgridReady = true; });
  });
}

// ---- station page -----------------------------------------------------------------------------
const startKeys = new Map<string, string>(); // connector → Idempotency-Key: a double tap is one start
async function showStation(id: string) {
  const el = $('v-station');
  el.innerHTML = `<p class="muted">${t('loading')}</p>`;
  const s = await api(`/api/v1/stations/${encodeURIComponent(id)}`);
  const hit = results.find((r) => r.station_id === id);
  // The period in force now, China time (its `start`/`end` are HH:MM:SS, the end exclusive).
  const nowSecond = (Date.now() / 1000 + 8 * 3600) % 86400;
  const seconds = (hms: string) => { const [h, m] = hms.split(':').map(Number); return h * 3600 + m * 60; };
  const nowPrice = s.tariff?.periods.find((p: any) => nowSecond >= seconds(p.start) && nowSecond < seconds(p.end));
  const schedule = s.tariff
    ? `<table class="schedule"><tr><th>${t('period')}</th><th class="n">${t('elec_fee')}</th><th class="n">${t('service_fee')}</th><th class="n">${t('total')} ${t('yuan_kwh')}</th></tr>${s.tariff.periods.map((p: any) => {
        const now = p === nowPrice;
        return `<tr class="${now ? 'now' : ''}"><td>${p.start.slice(0, 5)}–${p.end.slice(0, 5)}${now ? ` <b>← ${t('now')}</b>` : ''}</td><td class="n">${(p.electricity_fen_per_kwh / 100).toFixed(2)}</td><td class="n">${(p.service_fen_per_kwh / 100).toFixed(2)}</td><td class="n">${(p.total_fen_per_kwh / 100).toFixed(2)}</td></tr>`;
      }).join('')}</table>`
    : `<p>${esc(s.electricity_fee_text ?? t('price_unknown'))} ${esc(s.service_fee_text ?? '')}</p>`;
  const connectors = s.equipment.flatMap((e: any) => e.connectors.map((c: any) => ({ ...c, pile: e })));
  el.innerHTML = `
    <h2 id="station-name">${esc(s.name)}</h2>
    <p class="muted">${esc(s.operator_name ?? s.operator_id)} · ${hit ? `${(hit.distance_m / 1000).toFixed(1)} ${t('km')}` : ''}</p>
    <p class="price-now">${t('price_now')}: <b id="price-now">${nowPrice ? (nowPrice.total_fen_per_kwh / 100).toFixed(2) : '–'}</b> ${t('yuan_kwh')}</p>
    <table class="kv">
      <tr><th>${t('address')}</th><td>${esc(s.address)}</td></tr>
      <tr><th>${t('hours')}</th><td>${esc(s.business_hours ?? '')}</td></tr>
      <tr><th>${t('parking')}</th><td>${esc(s.park_fee ?? '')}</td></tr>
      <tr><th>${t('payment')}</th><td>${esc(s.payment ?? '')}</td></tr>
    </table>
    <h3>${t('schedule')}</h3>${schedule}
    <h3>${t('connectors')}</h3>
    <p class="error" id="start-error" hidden></p>
    <ul class="connectors">${connectors.map((c: any) => {
      const status = c.status_stale ? 'stale' : (c.status ?? 'unknown');
      const via = c.status_source === 'ocpp' ? t('via_ocpp') : c.status_source?.startsWith('tcec') ? t('via_tcec') : '';
      const canStart = !['offline', 'faulted'].includes(c.status);
      const full = `${s.operator_id}:${c.id}`;
      return `<li class="connector" data-connector="${esc(full)}" data-status="${esc(status)}" data-current="${esc(c.current)}" data-source="${esc(c.status_source ?? '')}">
        <div><b>${esc(c.name ?? c.id)}</b> <span class="muted small">${esc(String(c.current).toUpperCase())} · ${c.power_kw} kW · ${esc(t('t_' + c.connector_type))}${via ? ` · ${via}` : ''}</span></div>
        <div class="row"><span class="st ${esc(status)}">${c.status_stale ? t('stale') : t('st_' + (c.status ?? 'unknown'))}</span>
        ${c.status_source === 'ocpp' && c.status === 'available' && !c.status_stale && me ? `<button type="button" class="reserve">${t('reserve')}</button>` : ''}
        ${canStart ? `<button type="button" class="start ${c.status === 'available' && !c.status_stale ? 'primary' : ''}" title="${c.status === 'available' ? '' : esc(t('busy_hint'))}">${me ? t('start_charge') : t('login_to_charge')}</button>` : ''}</div></li>`;
    }).join('')}</ul>
    <p class="muted small">${esc(s.remark ?? '')}</p>`;
  el.querySelectorAll<HTMLElement>('.connector').forEach((li) => {
    li.querySelector('button.start')?.addEventListener('click', () => startCharge(li.dataset.connector!, li.querySelector('button.start') as HTMLButtonElement));
    li.querySelector('button.reserve')?.addEventListener('click', () => reserve(li.dataset.connector!, li.querySelector('button.reserve') as HTMLButtonElement));
  });
  w.evgridStation = s;
}

async function startCharge(connector: string, button: HTMLButtonElement) {
  if (!me) { location.hash = `#/login?next=${encodeURIComponent(location.hash)}`; return; }
  const error = $('start-error');
  error.hidden = true;
  if (!startKeys.has(connector)) startKeys.set(connector, crypto.randomUUID());
  button.disabled = true;
  try {
    const charge = await postJson('/api/v1/sessions', { connector_id: connector }, { 'idempotency-key': startKeys.get(connector)! });
    startKeys.delete(connector);
    if (charge.status === 'refused') {
      error.textContent = t('start_failed') + reason(charge.message ?? '');
      error.hidden = false;
      return;
    }
    location.hash = `#/charge/${charge.id}`;
  } catch (e) {
    error.textContent = t('start_failed') + reason((e as Error).message);
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function reserve(connector: string, button: HTMLButtonElement) {
  const error = $('start-error');
  error.hidden = true;
  button.disabled = true;
  try {
    const r = await postJson('/api/v1/reservations', { connector_id: connector, minutes: 15 });
    if (r.status !== 'reserved') throw new Error(r.message ?? r.status);
    button.textContent = t('reserved_until') + chinaTime(r.expires_at).slice(6);
    button.classList.add('held');
  } catch (e) {
    error.textContent = t('reserve_failed') + reason((e as Error).message);
    error.hidden = false;
    button.disabled = false;
  }
}

// ---- a charge ---------------------------------------------------------------------------------
let charge: any = null;
function renderCharge() {
  if (!charge) return;
  const live = charge.live;
  const place = charge.place;
  $('c-station').textContent = place?.station_name ?? charge.operator_id;
  $('c-connector').textContent = `${place?.operator_name ?? charge.operator_id} · ${charge.connector_id} · ${charge.channel === 'ocpp' ? 'OCPP' : 'T/CEC'}`;
  const msg = $('c-message');
  msg.hidden = !charge.message;
  msg.textContent = charge.message ? t('start_failed') + reason(charge.message) : '';
  const state = live?.state;
  $('c-state').textContent = state ? t('l_' + state) : charge.status === 'refused' ? t('s_refused') : t('waiting');
  $('c-state').dataset.state = state ?? charge.status;
  $('c-kwh').textContent = kwh(live?.energy ?? 0);
  $('c-soc').textContent = live?.soc != null ? `${Math.round(live.soc)}%` : '–';
  $('c-cost').textContent = yuan(live?.total_money);
  const ended = live?.ended_at ?? null;
  const started = live?.started_at ?? null;
  $('c-duration').textContent = started ? duration((ended ?? Date.now() / 1000) - started) : '–';
  const bar = $('c-progress');
  const finished = state === 'finished' || state === 'failed';
  bar.style.width = live?.soc != null ? `${Math.min(100, live.soc)}%` : finished ? '100%' : '';
  bar.classList.toggle('indeterminate', !finished && live?.soc == null && charge.status !== 'refused');
  const stop = $<HTMLButtonElement>('c-stop');
  stop.hidden = finished || charge.status === 'refused' || !live;
  const order = $('order');
  if (live?.order_received_at != null) {
    order.hidden = false;
    $('o-operator').textContent = `${place?.operator_name ?? ''} (${charge.operator_id})`;
    $('o-ref').textContent = live.session_ref;
    $('o-start').textContent = chinaTime(live.started_at, true);
    $('o-end').textContent = chinaTime(live.ended_at, true);
    $('o-energy').textContent = `${kwh(live.energy)} kWh`;
    $('o-periods').innerHTML = live.periods.map((p: any) => `<tr><td>${chinaTime(p.starts_at)}–${chinaTime(p.ends_at).slice(6)}<br><span class="muted small">${pricePerKwh(p.electricity_price)} + ${pricePerKwh(p.service_price)} ${t('yuan_kwh')}</span></td><td class="n">${kwh(p.energy)}</td><td class="n">${yuan(p.electricity_money)}</td><td class="n">${yuan(p.service_money)}</td></tr>`).join('');
    $('o-elec').textContent = yuan(live.electricity_money);
    $('o-service').textContent = yuan(live.service_money);
    $('o-total').textContent = yuan(live.total_money);
    $<HTMLAnchorElement>('o-receipt').href = `/api/v1/sessions/${encodeURIComponent(charge.id)}/receipt`;
    $('o-dispute').hidden = !live.dispute;
    $('o-dispute').textContent = live.dispute ? t('dispute') + live.dispute : '';
  } else {
    order.hidden = true;
  }
  w.evgridCharge = charge;
}
async function showCharge(id: string) {
  charge = null;
  $('c-message').hidden = true;
  $('order').hidden = true;
  charge = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  renderCharge();
  events = new EventSource(`/api/v1/sessions/${encodeURIComponent(id)}/events`);
  events.addEventListener('charge', (e) => { charge = JSON.parse((e as MessageEvent).data); renderCharge(); });
  // The server ends the stream once the order is in (or the start was refused): do not reconnect.
  events.addEventListener('error', () => { if (charge?.live?.order_received_at != null || charge?.status === 'refused') events?.close(); });
  ticker = window.setInterval(renderCharge, 1000);
}
$('c-stop').addEventListener('click', async () => {
  const button = $<HTMLButtonElement>('c-stop');
  button.disabled = true;
  try {
    charge = await api(`/api/v1/sessions/${encodeURIComponent(charge.id)}/stop`, { method: 'POST' });
    renderCharge();
  } catch (e) {
    $('c-message').textContent = t('stop_failed') + reason((e as Error).message);
    $('c-message').hidden = false;
  } finally {
    button.disabled = false;
  }
});

// ---- orders -----------------------------------------------------------------------------------
async function showOrders() {
  if (!me) { location.hash = '#/login?next=%23%2Forders'; return; }
  const list = $('orders-list');
  list.innerHTML = `<li class="muted">${t('loading')}</li>`;
  const [charges, reservations]: any[][] = await Promise.all([api('/api/v1/me/sessions'), api('/api/v1/me/reservations')]);
  const held = reservations.filter((r) => r.status === 'reserved');
  $('reservations').hidden = held.length === 0;
  $('reservations-list').innerHTML = held.map((r) => `<li class="reservation" data-id="${esc(r.id)}"><div class="row"><b>${esc(r.connector_id)}</b><span>${t('reserved_until')}${chinaTime(r.expires_at).slice(6)}</span>
      <button type="button" class="cancel">${t('cancel')}</button></div></li>`).join('');
  $('reservations-list').querySelectorAll<HTMLElement>('.reservation').forEach((li) => li.querySelector('button.cancel')!.addEventListener('click', async () => {
    await api(`/api/v1/reservations/${encodeURIComponent(li.dataset.id!)}`, { method: 'DELETE' }).catch(() => undefined);
    void showOrders();
  }));
  list.innerHTML = charges.length
    ? charges.map((c) => `<li class="order" data-id="${esc(c.id)}"><div class="row"><b>${esc(c.place?.station_name ?? c.connector_id)}</b><b class="n">${yuan(c.live?.total_money)}</b></div>
        <div class="row muted small"><span>${chinaTime(c.live?.started_at ?? c.created_at, true)}</span><span>${kwh(c.live?.energy)} kWh</span>
        <span>${c.live ? t('l_' + c.live.state) : t('s_' + c.status)}</span>${c.live?.order_received_at != null ? `<a href="/api/v1/sessions/${esc(c.id)}/receipt" target="_blank">${t('receipt')}</a>` : ''}</div></li>`).join('')
    : `<li class="muted">${t('no_orders')}</li>`;
  list.querySelectorAll<HTMLElement>('.order').forEach((li) => li.addEventListener('click', (e) => {
    if ((e.target as HTMLElement).tagName !== 'A') location.hash = `#/charge/${li.dataset.id}`;
  }));
}

// ---- account ----------------------------------------------------------------------------------
async function loadMe() {
  try { me = await api('/api/v1/auth/me'); } catch { me = null; }
  renderAccount();
}
function renderAccount() {
  $('who').textContent = me ? me.username : '';
  $('account-label').textContent = me ? t('tab_account') : t('tab_login');
}
async function authenticate(register: boolean) {
  const username = $<HTMLInputElement>('username').value.trim();
  const password = $<HTMLInputElement>('password').value;
  const error = $('auth-error');
  error.hidden = true;
  try {
    if (register) await postJson('/api/v1/auth/register', { username, password });
    await postJson('/api/v1/auth/login', { username, password });
    await loadMe();
    const next = new URLSearchParams(location.hash.split('?')[1] ?? '').get('next');
    location.hash = next && next.startsWith('#/') ? next : '#/list';
  } catch (e) {
    const err = e as ApiError;
    error.textContent = err.status === 401 ? t('bad_login') : err.status === 409 ? t('taken') : err.message;
    error.hidden = false;
  }
}
$('login-form').addEventListener('submit', (e) => { e.preventDefault(); void authenticate(false); });
$('do-register').addEventListener('click', () => {
  if ($<HTMLFormElement>('login-form').reportValidity()) void authenticate(true);
});
$('tab-account').addEventListener('click', async (e) => {
  if (!me) return;
  e.preventDefault();
  await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
  me = null;
  renderAccount();
  location.hash = '#/login';
});

// ---- routing, language, filters ---------------------------------------------------------------
async function route() {
  const [path] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  const view = parts[0] ?? 'map';
  events?.close();
  events = null;
  window.clearInterval(ticker);
  for (const v of ['map', 'list', 'station', 'charge', 'orders', 'login']) $(`v-${v}`).hidden = v !== view;
  $('filters').hidden = !(view === 'map' || view === 'list');
  document.querySelectorAll<HTMLElement>('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.tab === view));
  currentView = view;
  w.evgridView = view;
  try {
    if (view === 'map') initMap();
    else if (view === 'list') await loadList();
    else if (view === 'station') await showStation(decodeURIComponent(parts.slice(1).join('/')));
    else if (view === 'charge') await showCharge(decodeURIComponent(parts[1] ?? ''));
    else if (view === 'orders') await showOrders();
  } catch (e) {
    const err = e as ApiError;
    if (err.status === 401) { location.hash = `#/login?next=${encodeURIComponent(location.hash)}`; return; }
    $(`v-${view}`).insertAdjacentHTML('afterbegin', `<p class="error">${esc(err.message)}</p>`);
  }
}
function applyLanguage() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n!); });
  document.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder!); });
  $('lang').textContent = t('lang');
  renderAccount();
}
$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('evgrid.lang', lang);
  applyLanguage();
  renderDestinations();
  if (currentView === 'list') void loadList();
  else if (currentView === 'station' || currentView === 'orders') void route();
  else if (currentView === 'charge') renderCharge();
});
$('f-route').addEventListener('change', () => { if (currentView !== 'list') location.hash = '#/list'; else void loadList(); });
api('/api/v1/regions').then((r) => { seats = r.counties; renderDestinations(); }).catch(() => undefined);
for (const id of ['f-free', 'f-current', 'f-type', 'f-power', 'f-open', 'f-price', 'f-operator', 'f-sort']) {
  $(id).addEventListener('change', () => { if (currentView === 'list') void loadList(); else if (currentView === 'map') void loadMapStations(); });
}
$('locate').addEventListener('click', () => {
  navigator.geolocation?.getCurrentPosition((p) => {
    position = { lat: p.coords.latitude, lng: p.coords.longitude };
    if (map) {
      map.jumpTo({ center: [position.lng, position.lat], zoom: 13 });
      (map.getSource('me') as GeoJSONSource | undefined)?.setData({ type: 'Point', coordinates: [position.lng, position.lat] });
    }
    if (currentView === 'list') void loadList();
  });
});

applyLanguage();
window.addEventListener('hashchange', () => { void route(); });
void loadMe().then(route).then(() => { w.evgridAppReady = true; });
