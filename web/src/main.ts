// The evgrid station map: the real county boundaries as an offline base layer, every station as
// a clustered point coloured by category, a click for the station's details. No tiles, no CDN.
import maplibregl from 'maplibre-gl';
import type { GeoJSONSource, MapGeoJSONFeature } from 'maplibre-gl';

type Lang = 'zh' | 'en';
const COLORS: Record<string, string> = { public: '#1a9850', dedicated: '#2166ac', private: '#f46d43' };
const STATUS_COLORS: Record<string, string> = {
  available: '#1a9850', charging: '#2166ac', occupied: '#fdae61', reserved: '#984ea3', offline: '#888', faulted: '#d73027', unknown: '#ccc',
};
const TEXT: Record<Lang, Record<string, string>> = {
  zh: {
    title: '赣州充电设施信息服务平台', piles: '充电桩', stations: '充电站', connectors: '充电枪',
    public: '公共', dedicated: '专用', private: '私人', synthetic: '演示数据为合成数据 (非真实充电站)',
    operator: '运营商', address: '地址', county: '县区', township: '乡镇', hours: '营业时间', parking: '停车费',
    payment: '支付方式', tariff: '分时电价 (分/千瓦时)', period: '时段', elec: '电费', service: '服务费', total: '合计',
    equipment: '充电设备', power: '功率', type: '类型', loading: '加载中…', outside: '市域外', lang: 'EN',
    status: '状态', st_available: '空闲', st_charging: '充电中', st_occupied: '占用', st_reserved: '已预约',
    st_offline: '离线', st_faulted: '故障', st_unknown: '未上报', stale: '已过期', dashboard: '监管看板', driver_app: '一站式充电',
  },
  en: {
    title: 'Ganzhou charging information platform', piles: 'piles', stations: 'stations', connectors: 'connectors',
    public: 'public', dedicated: 'dedicated', private: 'private', synthetic: 'Demo data is synthetic (not real chargers)',
    operator: 'Operator', address: 'Address', county: 'County', township: 'Township', hours: 'Opening hours',
    parking: 'Parking fee', payment: 'Payment', tariff: 'Time-of-use tariff (fen/kWh)', period: 'Period',
    elec: 'Electricity', service: 'Service', total: 'Total', equipment: 'Equipment', power: 'Power', type: 'Type',
    loading: 'Loading…', outside: 'outside the city', lang: '中文',
    status: 'Status', st_available: 'available', st_charging: 'charging', st_occupied: 'occupied',
    st_reserved: 'reserved', st_offline: 'offline', st_faulted: 'faulted', st_unknown: 'not reported', stale: 'stale', dashboard: 'Regulator dashboard', driver_app: 'Charge (drivers)',
  },
};

let lang: Lang = (localStorage.getItem('evgrid.lang') as Lang) || 'zh';
const t = (key: string) => TEXT[lang][key] ?? key;
const $ = (id: string) => document.getElementById(id) as HTMLElement;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

let summary: any = null;
let regions: any = null;
let currentStation: any = null;
let allStations: any = null;
const shown = new Set(['public', 'dedicated', 'private']);

// Categories are filtered before clustering, so clusters count only what is shown.
function applyCategoryFilter() {
  const source = map.getSource('stations') as GeoJSONSource | undefined;
  if (!source || !allStations) return;
  source.setData({ ...allStations, features: allStations.features.filter((f: any) => shown.has(f.properties.category)) });
}

function renderChips() {
  if (!summary) return;
  const p = summary.piles;
  $('chips').innerHTML = [
    `<span class="chip">${t('piles')} <b>${p.total.toLocaleString()}</b></span>`,
    ...['public', 'dedicated', 'private'].map((c) => `<span class="chip" style="border-color:${COLORS[c]}">${t(c)} <b>${p[c].toLocaleString()}</b></span>`),
    `<span class="chip">${t('stations')} <b>${summary.stations.total.toLocaleString()}</b></span>`,
  ].join('');
  $('legend').innerHTML = ['public', 'dedicated', 'private']
    .map((c) => `<label><input type="checkbox" data-category="${c}" ${shown.has(c) ? 'checked' : ''}><i style="background:${COLORS[c]}"></i>${t(c)} · ${summary.stations[c].toLocaleString()} ${t('stations')}</label>`)
    .join('');
  $('legend').querySelectorAll<HTMLInputElement>('input[data-category]').forEach((box) => {
    box.addEventListener('change', () => {
      if (box.checked) shown.add(box.dataset.category!); else shown.delete(box.dataset.category!);
      applyCategoryFilter();
    });
  });
}

function applyLanguage() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n!); });
  $('lang').textContent = t('lang');
  renderChips();
  if (currentStation) renderStation(currentStation);
}

function renderStation(s: any) {
  const tariff = s.tariff
    ? `<h3>${t('tariff')}</h3><table><tr><th>${t('period')}</th><th>${t('elec')}</th><th>${t('service')}</th><th>${t('total')}</th></tr>${s.tariff.periods
        .map((p: any) => `<tr><td>${p.start.slice(0, 5)}–${p.end.slice(0, 5)}</td><td>${p.electricity_fen_per_kwh}</td><td>${p.service_fen_per_kwh}</td><td>${p.total_fen_per_kwh}</td></tr>`)
        .join('')}</table>`
    : `<p>${esc(s.electricity_fee_text)}</p>`;
  const statusCell = (e: any) => e.connectors
    .map((c: any) => `<span class="dot" style="background:${STATUS_COLORS[c.status] ?? '#ccc'}"></span>${t('st_' + c.status)}${c.status_stale ? ` (${t('stale')})` : ''}`)
    .join('<br>');
  // How a pile reaches the platform: directly by OCPP, or through its operator's T/CEC platform.
  const via = (e: any) => {
    const sources = e.connectors.map((c: any) => c.status_source ?? '');
    if (sources.includes('ocpp')) return ' · OCPP';
    if (sources.some((x: string) => x.startsWith('tcec'))) return ' · T/CEC';
    return '';
  };
  const equipment = s.equipment
    .map((e: any) => `<tr><td>${esc(e.name ?? e.id)}</td><td>${esc(e.equipment_type.toUpperCase())}${via(e)}</td><td>${e.power_kw} kW</td><td>${e.connectors.length} × ${esc(e.connectors[0]?.connector_type ?? '')}</td><td class="status">${statusCell(e)}</td></tr>`)
    .join('');
  $('panel-body').innerHTML = `
    <h2 id="station-name">${esc(s.name)}</h2>
    <p><span class="tag" style="background:${COLORS[s.category]}">${t(s.category)}</span> ${s.piles} ${t('piles')} · ${s.connectors} ${t('connectors')}</p>
    <table>
      <tr><th>${t('operator')}</th><td>${esc(s.operator_name ?? s.operator_id)} (${esc(s.operator_id)})</td></tr>
      <tr><th>${t('address')}</th><td>${esc(s.address)}</td></tr>
      <tr><th>${t('county')}</th><td>${esc(s.county_name ?? t('outside'))}</td></tr>
      <tr><th>${t('township')}</th><td>${esc(s.township_name ?? '')}</td></tr>
      <tr><th>${t('hours')}</th><td>${esc(s.business_hours ?? '')}</td></tr>
      <tr><th>${t('parking')}</th><td>${esc(s.park_fee ?? '')}</td></tr>
      <tr><th>${t('payment')}</th><td>${esc(s.payment ?? '')}</td></tr>
    </table>
    ${tariff}
    <h3>${t('equipment')}</h3><table><tr><th></th><th>${t('type')}</th><th>${t('power')}</th><th></th><th>${t('status')}</th></tr>${equipment}</table>
    <p class="small">${esc(s.remark ?? '')}</p>`;
  $('panel').hidden = false;
}

async function showStation(id: string) {
  $('panel-body').textContent = t('loading');
  $('panel').hidden = false;
  currentStation = await getJson(`/api/v1/stations/${encodeURIComponent(id)}`);
  renderStation(currentStation);
  (window as any).evgridSelected = id;
}

const map = new maplibregl.Map({
  container: 'map',
  style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9eef2' } }] },
  center: [115.0, 25.85],
  zoom: 7.3,
  attributionControl: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
(window as any).evgridMap = map;

// Cluster counts as HTML markers: the page has no glyph server, so no WebGL text.
const clusterMarkers = new Map<number, maplibregl.Marker>();
function updateClusterMarkers() {
  const seen = new Set<number>();
  for (const f of map.querySourceFeatures('stations') as MapGeoJSONFeature[]) {
    const props = f.properties as any;
    if (!props.cluster) continue;
    const id = props.cluster_id as number;
    if (seen.has(id)) continue;
    seen.add(id);
    let marker = clusterMarkers.get(id);
    if (!marker) {
      const el = document.createElement('div');
      const n = props.point_count as number;
      const size = n < 50 ? 26 : n < 500 ? 34 : 44;
      const top = (['public', 'dedicated', 'private'] as const).reduce((a, b) => (props[a] >= props[b] ? a : b));
      el.className = 'cluster';
      el.style.width = el.style.height = `${size}px`;
      el.style.background = COLORS[top];
      el.textContent = props.point_count_abbreviated;
      el.addEventListener('click', async () => {
        const zoom = await (map.getSource('stations') as GeoJSONSource).getClusterExpansionZoom(id);
        map.easeTo({ center: (f.geometry as any).coordinates, zoom });
      });
      marker = new maplibregl.Marker({ element: el }).setLngLat((f.geometry as any).coordinates);
      clusterMarkers.set(id, marker);
    }
    marker.addTo(map);
  }
  for (const [id, marker] of clusterMarkers) {
    if (!seen.has(id)) { marker.remove(); clusterMarkers.delete(id); }
  }
}

const summaryPromise = getJson('/api/v1/stats/summary');
const regionsPromise = getJson('/api/v1/regions');

map.on('load', async () => {
  const [counties, stations] = await Promise.all([getJson('/api/v1/map/counties'), getJson('/api/v1/map/stations')]);
  regions = await regionsPromise;
  allStations = stations;
  map.addSource('counties', { type: 'geojson', data: counties });
  map.addLayer({ id: 'county-fill', type: 'fill', source: 'counties', paint: { 'fill-color': '#fbfcf8', 'fill-opacity': 0.9 } });
  map.addLayer({ id: 'county-line', type: 'line', source: 'counties', paint: { 'line-color': '#7a8a99', 'line-width': 1.2 } });
  map.addSource('stations', {
    type: 'geojson',
    data: stations,
    cluster: true,
    clusterRadius: 45,
    clusterMaxZoom: 14,
    clusterProperties: {
      public: ['+', ['case', ['==', ['get', 'category'], 'public'], 1, 0]],
      dedicated: ['+', ['case', ['==', ['get', 'category'], 'dedicated'], 1, 0]],
      private: ['+', ['case', ['==', ['get', 'category'], 'private'], 1, 0]],
    },
  });
  map.addLayer({
    id: 'clusters', type: 'circle', source: 'stations', filter: ['has', 'point_count'],
    paint: { 'circle-radius': 1, 'circle-opacity': 0 },
  });
  map.addLayer({
    id: 'station-points', type: 'circle', source: 'stations', filter: ['!', ['has', 'point_count']],
    paint: {
      'circle-color': ['match', ['get', 'category'], 'public', COLORS.public, 'dedicated', COLORS.dedicated, COLORS.private],
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 1.5,
    },
  });
  map.on('click', 'station-points', (e) => {
    const f = e.features?.[0];
    if (f) showStation((f.properties as any).id);
  });
  map.on('mouseenter', 'station-points', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'station-points', () => { map.getCanvas().style.cursor = ''; });
  map.on('render', () => { if (map.isSourceLoaded('stations')) updateClusterMarkers(); });
  for (const c of regions?.counties ?? []) {
    const el = document.createElement('div');
    el.className = 'county-label';
    el.textContent = lang === 'zh' ? c.name_zh : c.name_pinyin;
    new maplibregl.Marker({ element: el }).setLngLat([c.seat_lng, c.seat_lat]).addTo(map);
  }
  map.fitBounds([[113.9, 24.45], [116.65, 27.15]], { padding: 10, duration: 0 });
  map.once('idle', () => { (window as any).evgridReady = true; });
});

$('panel-close').addEventListener('click', () => { $('panel').hidden = true; currentStation = null; });
$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('evgrid.lang', lang);
  applyLanguage();
  document.querySelectorAll<HTMLElement>('.county-label').forEach((el, i) => {
    const c = regions?.counties?.[i];
    if (c) el.textContent = lang === 'zh' ? c.name_zh : c.name_pinyin;
  });
});
(window as any).evgridShowStation = showStation;

Promise.all([summaryPromise, regionsPromise]).then(([s, r]) => {
  summary = s;
  regions = r;
  applyLanguage();
});
