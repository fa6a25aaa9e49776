// The regulator's dashboard: the city's headline figures beside what it reports, the county
// map (piles per 10,000 people, townships covered, the coverage heat map with uncovered
// townships and the charging circle's gaps), utilization, faults, power classes (ECharts),
// targets, operator data quality and downloads. Every figure comes from the API.
import maplibregl from 'maplibre-gl';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

type Lang = 'zh' | 'en';
const TEXT: Record<Lang, Record<string, string>> = {
  zh: {
    dash_title: '赣州充电设施监管看板', to_map: '站点地图', workbook: '下载全部报表 (XLSX)', monthly: '本月报告 (PDF)', lang: 'EN',
    map_title: '县区与覆盖', targets: '目标进度', util_title: '时段利用率 (近7日)', fault_title: '故障与在线率 (近7日)',
    power_title: '功率分布', uncovered_title: '无公共充电站的乡镇', quality_title: '运营商数据质量',
    synthetic: '演示数据为合成数据 (非真实充电站)',
    piles: '充电桩总数', piles_split: '公共+专用 / 私人', planning: '规划服务半径', measured: '居民到公共站平均距离',
    townships: '乡镇覆盖', hotspots: '热点覆盖', circle: '充电圈', within: '居民在公共站 {km} km 内',
    reported: '城市公布', reported_more_than_half: '城市公布: 过半', all: '全部',
    mode_density: '每万人充电桩', mode_townships: '乡镇覆盖率', mode_heat: '覆盖热力图',
    county: '县区', township: '乡镇', population: '人口(估)', nearest: '最近公共站', km: 'km',
    operator: '运营商', accepted: '接收', refused: '拒收', connectors: '枪数', unreported: '从未上报', stale: '过期',
    stations: '站数', missing: '缺字段', pulls: '拉取 成功/失败',
    sessions: '充电次数', charging_hours: '充电时长(h)', faults: '故障次数', online_rate: '在线率', mttr: '平均修复(h)',
    public: '公共', dedicated: '专用', private: '私人', projected: '预计达成', reached: '已达成', deadline: '期限', on_track: '按期', late: '滞后',
    no_figure: '尚无数据 (evgrid targets import 导入)', part_of: '分项', gap: '缺口', max_distance: '最远',
    d1: '≤1 km', d2: '1–2 km', d3: '2–3 km', d5: '3–5 km', dmore: '>5 km', uncovered_mark: '无公共站乡镇', gaps: '充电圈缺口',
    login_title: '监管人员登录', username: '用户名', password: '密码', login: '登录', logout: '退出',
    login_hint: '演示: evgrid demo 启动时打印 regulator 账号的密码', login_failed: '用户名或密码错误',
    login_limited: '失败次数过多, 请稍后再试', forbidden: '此看板需要监管或管理员角色',
    plan_title: '选址规划 (最大覆盖选址)', plan_piles: '新增充电桩', plan_radius: '服务半径 (km)', plan_region: '范围',
    plan_sites: '新站点数 (默认每站10桩)', plan_run: '生成规划', plan_running: '规划中', plan_failed: '规划失败',
    plan_busy: '已有规划在运行, 请稍后', plan_done: '完成', figure: '指标', before: '规划前', after: '规划后',
    public_stations: '公共充电站', people_within: '{km} km 内人口占比', mean_distance: '平均距离 (km)',
    townships_covered: '覆盖乡镇', hotspots_covered: '覆盖热点', newly: '新覆盖人口', rank: '序号', kind: '类型', name: '名称',
    new_piles: '桩数', whole_city: '全市', gap_to_bound: '与上界差距',
    phase_queued: '排队中', phase_coverage: '计算覆盖集', phase_greedy: '贪心初解', phase_local_search: '局部搜索', phase_bound: '计算上界', phase_improve: '迭代改进', phase_done: '汇总',
    kind_township: '乡镇中心', kind_hotspot: '热点', kind_block: '人口网格', kind_station: '现有站扩建',
    superiors_title: '上报上级监管平台', superior: '上级平台', sent: '发送', acked: '确认', not_acked: '未确认',
    backlog: '待发', oldest: '最早待发 (秒)', given_up: '放弃 (需处理)', last_success: '最近成功', lag: '时延 p50 / p99 (ms)',
    disputed: '对账争议', no_superiors: '尚未配置上级平台 (evgrid superior add)',
  },
  en: {
    dash_title: 'Ganzhou charging infrastructure — regulator', to_map: 'Station map', workbook: 'Download all tables (XLSX)', monthly: 'Monthly report (PDF)', lang: '中文',
    map_title: 'Counties and coverage', targets: 'Targets', util_title: 'Use by hour (last 7 days)', fault_title: 'Faults and online rate (last 7 days)',
    power_title: 'Piles by power', uncovered_title: 'Townships without a public station', quality_title: 'Operator data quality',
    synthetic: 'Demo data is synthetic (not real chargers)',
    piles: 'Charging piles', piles_split: 'public+dedicated / private', planning: 'Planning-norm radius', measured: 'Mean distance, people to a public station',
    townships: 'Townships covered', hotspots: 'Hot spots covered', circle: 'Charging circle', within: 'People within {km} km of a public station',
    reported: 'City reports', reported_more_than_half: 'City reports: more than half', all: 'all',
    mode_density: 'Piles per 10,000 people', mode_townships: 'Townships covered', mode_heat: 'Coverage heat map',
    county: 'County', township: 'Township', population: 'Population (est.)', nearest: 'Nearest public station', km: 'km',
    operator: 'Operator', accepted: 'Accepted', refused: 'Refused', connectors: 'Connectors', unreported: 'Never reported', stale: 'Stale',
    stations: 'Stations', missing: 'Missing fields', pulls: 'Pulls ok/failed',
    sessions: 'Sessions', charging_hours: 'Charging hours', faults: 'Faults', online_rate: 'Online rate', mttr: 'MTTR (h)',
    public: 'public', dedicated: 'dedicated', private: 'private', projected: 'projected', reached: 'reached', deadline: 'deadline', on_track: 'on track', late: 'late',
    no_figure: 'no figure yet (import with evgrid targets import)', part_of: 'part', gap: 'gap', max_distance: 'farthest',
    d1: '≤1 km', d2: '1–2 km', d3: '2–3 km', d5: '3–5 km', dmore: '>5 km', uncovered_mark: 'Township without a public station', gaps: 'Charging-circle gaps',
    login_title: 'Regulator login', username: 'Username', password: 'Password', login: 'Log in', logout: 'Log out',
    login_hint: 'Demo: evgrid demo prints the regulator account\'s password when it starts', login_failed: 'Wrong username or password',
    login_limited: 'Too many failed logins; try again in a minute', forbidden: 'This dashboard needs the regulator or admin role',
    plan_title: 'Siting plan (maximal covering location)', plan_piles: 'New piles', plan_radius: 'Service radius (km)', plan_region: 'Area',
    plan_sites: 'New sites (default: 10 piles each)', plan_run: 'Make the plan', plan_running: 'Planning', plan_failed: 'The plan failed',
    plan_busy: 'A plan is already running; try again shortly', plan_done: 'done', figure: 'Figure', before: 'Before', after: 'After',
    public_stations: 'Public stations', people_within: 'People within {km} km', mean_distance: 'Mean distance (km)',
    townships_covered: 'Townships covered', hotspots_covered: 'Hot spots covered', newly: 'People newly covered', rank: 'Rank', kind: 'Kind', name: 'Name',
    new_piles: 'Piles', whole_city: 'Whole city', gap_to_bound: 'gap to the upper bound',
    phase_queued: 'queued', phase_coverage: 'coverage sets', phase_greedy: 'greedy start', phase_local_search: 'local search', phase_bound: 'upper bound', phase_improve: 'improving', phase_done: 'summing up',
    kind_township: 'township centre', kind_hotspot: 'hot spot', kind_block: 'populated block', kind_station: 'existing station',
    superiors_title: 'Reporting to superior platforms', superior: 'Superior', sent: 'Sent', acked: 'Acknowledged', not_acked: 'Not acknowledged',
    backlog: 'Backlog', oldest: 'Oldest pending (s)', given_up: 'Given up (flagged)', last_success: 'Last success', lag: 'Lag p50 / p99 (ms)',
    disputed: 'Disputed orders', no_superiors: 'No superior platform yet (evgrid superior add)',
  },
};

let lang: Lang = (localStorage.getItem('evgrid.lang') as Lang) || 'zh';
const t = (key: string) => TEXT[lang][key] ?? key;
const $ = (id: string) => document.getElementById(id) as HTMLElement;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

const data: Record<string, any> = {};

/** A headline card: `key` names the figure (tests read data-figure and the shown text). */
function card(key: string, label: string, value: string, reported: string, ok: boolean | null) {
  const cls = ok === null ? '' : ok ? 'ok' : 'short';
  return `<div class="figure ${cls}" data-figure="${key}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div><div class="reported">${esc(reported)}</div></div>`;
}

function renderCards() {
  const s = data.stats, c = data.coverage;
  if (!s || !c) return;
  const p = s.piles;
  const cards = [
    card('piles', t('piles'), fmt(p.total), `${t('piles_split')}: ${fmt(p.public + p.dedicated)} / ${fmt(p.private)} · ${t('reported')} ${fmt(c.reported.piles)}`, p.total >= c.reported.piles),
    card('planning_radius_km', t('planning'), `${c.planning_radius_km.toFixed(2)} km`, `sqrt(A/(π·N)), N = ${fmt(c.public_stations)} · ${t('reported')} ${c.reported.service_radius_km} km`, c.planning_radius_km <= c.reported.service_radius_km + 0.1),
    card('mean_km', t('measured'), `${c.service_radius.mean_km.toFixed(2)} km`, `p50 ${c.service_radius.p50_km.toFixed(2)} km · p90 ${c.service_radius.p90_km.toFixed(2)} km`, null),
    card('townships', t('townships'), `${c.townships.covered} / ${c.townships.total}`, `${pct(c.townships.share)} · ${t('reported_more_than_half')}`, c.townships.share > c.reported.townships_share_at_least),
    card('hotspots', t('hotspots'), `${c.hotspots.covered} / ${c.hotspots.total}`, `≤ ${fmt(c.hotspots.radius_m)} m`, c.hotspots.covered === c.hotspots.total),
    card('circle', `${t('circle')} ${c.circle.radius_km} km · ${c.circle.area}`, pct(c.circle.share), `${t('max_distance')} ${fmt(c.circle.max_distance_m)} m · ${t('gap')} ${c.circle.gap_km2.toFixed(2)} km²`, c.circle.share >= 0.999),
    ...Object.entries(c.population_within_km).map(([k, v]) => card(`within_${k}`, t('within').replace('{km}', k), pct(v as number), '', null)),
  ];
  $('cards').innerHTML = cards.join('');
}

function renderTargets() {
  const list = data.targets?.targets ?? [];
  $('targets').innerHTML = list.map((x: any) => {
    const name = lang === 'zh' ? x.name_zh : x.name_en;
    const progress = x.progress == null ? null : Math.max(0, Math.min(1, x.progress));
    const current = x.current == null ? t('no_figure') : `${fmt(x.current)} ${x.unit}${x.as_of ? ` · ${x.as_of}` : ''}`;
    const goal = x.value > 0 ? ` / ${fmt(x.value)} ${x.unit}` : '';
    const proj = x.reached ? ` · <b>${t('reached')}</b>` : x.projected_day ? ` · ${t('projected')} ${x.projected_day} (${x.on_track ? t('on_track') : t('late')})` : '';
    return `<div class="target ${x.parent_id ? 'part' : ''}" data-target="${esc(x.id)}">
      <div>${esc(name)}${x.parent_id ? ` <span class="meta">(${t('part_of')})</span>` : ''}</div>
      ${progress == null ? '' : `<div class="bar-out" role="progressbar" aria-valuenow="${(progress * 100).toFixed(1)}"><div class="bar-in" style="width:${(progress * 100).toFixed(1)}%"></div></div>`}
      <div class="meta"><span class="current">${esc(current)}</span>${goal}${progress == null ? '' : ` · <b class="progress">${pct(x.progress)}</b>`} · ${t('deadline')} ${esc(x.deadline)}${proj}</div>
    </div>`;
  }).join('');
}

function renderTables() {
  const exp = (el: HTMLElement) => {
    const base = el.dataset.table!;
    const sep = base.includes('?') ? '&' : '?';
    el.innerHTML = ['csv', 'xlsx', ...(base.includes('townships') ? ['geojson'] : [])]
      .map((f) => `<a href="${base}${sep}format=${f}" download>${f.toUpperCase()}</a>`).join(' ');
  };
  document.querySelectorAll<HTMLElement>('.exports[data-table]').forEach(exp);
  const un = data.uncovered?.townships ?? [];
  $('uncovered').innerHTML = `<tr><th>${t('county')}</th><th>${t('township')}</th><th>${t('population')}</th><th>${t('nearest')} (${t('km')})</th></tr>` +
    un.slice().sort((a: any, b: any) => b.population - a.population).map((x: any) =>
      `<tr data-code="${esc(x.code)}"><td>${esc(x.county_name_zh)}</td><td>${esc(x.name_zh)}</td><td class="n">${fmt(x.population)}</td><td class="n">${(x.nearest_distance_m / 1000).toFixed(1)}</td></tr>`).join('');
  const q = data.quality?.operators ?? [];
  const sum = (o: any) => Object.values(o ?? {}).reduce((a: number, b: any) => a + (b as number), 0);
  $('quality').innerHTML = `<tr><th>${t('operator')}</th><th>${t('accepted')}</th><th>${t('refused')}</th><th>${t('connectors')}</th><th>${t('unreported')}</th><th>${t('stale')}</th><th>${t('stations')}</th><th>${t('missing')}</th><th>${t('pulls')}</th></tr>` +
    q.map((x: any) => `<tr data-operator="${esc(x.operator_id)}"><td>${esc(x.name)} (${esc(x.operator_id)})</td><td class="n">${fmt(sum(x.messages.accepted))}</td><td class="n">${fmt(sum(x.messages.refused))}</td><td class="n">${fmt(x.connectors.total)}</td><td class="n">${fmt(x.connectors.unreported)}</td><td class="n">${fmt(x.connectors.stale)}</td><td class="n">${fmt(x.stations.total)}</td><td class="n">${fmt(x.stations.missing_required_fields)}</td><td class="n">${x.pull ? `${x.pull.polls_ok}/${x.pull.polls_failed}` : '–'}</td></tr>`).join('');
}

const charts: Record<string, echarts.ECharts> = {};
function chart(id: string) {
  charts[id] ??= echarts.init($(id));
  return charts[id];
}

function renderCharts() {
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));
  const util = data.util?.rows ?? [];
  const byHour = (f: (r: any) => number) => hours.map((h) => util.filter((r: any) => r.bucket === h).reduce((a: number, r: any) => a + f(r), 0));
  chart('chart-util').setOption({
    tooltip: { trigger: 'axis' }, legend: { top: 0, data: [t('sessions'), t('charging_hours')] },
    grid: { left: 40, right: 40, top: 30, bottom: 24 },
    xAxis: { type: 'category', data: hours }, yAxis: [{ type: 'value' }, { type: 'value' }],
    series: [
      { name: t('sessions'), type: 'bar', data: byHour((r) => r.sessions), itemStyle: { color: '#2166ac' } },
      { name: t('charging_hours'), type: 'line', yAxisIndex: 1, data: byHour((r) => r.charging_hours), itemStyle: { color: '#f46d43' } },
    ],
  }, true);
  const faults = (data.faults?.rows ?? []).filter((r: any) => r.key);
  chart('chart-faults').setOption({
    tooltip: { trigger: 'axis' }, legend: { top: 0, data: [t('faults'), t('online_rate')] },
    grid: { left: 40, right: 40, top: 30, bottom: 60 },
    xAxis: { type: 'category', data: faults.map((r: any) => r.name ?? r.key), axisLabel: { rotate: 45, fontSize: 10 } },
    yAxis: [{ type: 'value' }, { type: 'value', min: 0, max: 1 }],
    series: [
      { name: t('faults'), type: 'bar', data: faults.map((r: any) => r.faults), itemStyle: { color: '#d73027' } },
      { name: t('online_rate'), type: 'line', yAxisIndex: 1, data: faults.map((r: any) => Number(r.online_rate.toFixed(3))), itemStyle: { color: '#1a9850' } },
    ],
  }, true);
  const power = data.power?.groups ?? [];
  chart('chart-power').setOption({
    tooltip: { trigger: 'axis' }, legend: { top: 0, data: [t('public'), t('dedicated'), t('private')] },
    grid: { left: 50, right: 10, top: 30, bottom: 24 },
    xAxis: { type: 'category', data: power.map((g: any) => g.key) }, yAxis: { type: 'value' },
    series: (['public', 'dedicated', 'private'] as const).map((c, i) => ({
      name: t(c), type: 'bar', stack: 'piles', data: power.map((g: any) => g.piles[c]),
      itemStyle: { color: ['#1a9850', '#2166ac', '#f46d43'][i] },
    })),
  }, true);
}

// --- the map -------------------------------------------------------------------------------
const map = new maplibregl.Map({
  container: 'dmap',
  style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9eef2' } }] },
  center: [115.0, 25.85], zoom: 6.6, attributionControl: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
(window as any).evgridMap = map;
let mode: 'density' | 'townships' | 'heat' = 'density';

const DENSITY = [[0, '#f7fcf5'], [5, '#c7e9c0'], [10, '#74c476'], [20, '#31a354'], [40, '#006d2c']] as const;
const SHARE = [[0, '#fff5eb'], [0.25, '#fdd0a2'], [0.5, '#fd8d3c'], [0.75, '#d94801'], [1, '#7f2704']] as const;
const HEAT = [['d1', '#1a9850'], ['d2', '#66bd63'], ['d3', '#d9ef8b'], ['d5', '#fee08b'], ['dmore', '#f6cec8']];

function step(stops: readonly (readonly [number, string])[], prop: string): any {
  const expr: any[] = ['step', ['coalesce', ['get', prop], 0], stops[0][1]];
  for (const [v, c] of stops.slice(1)) expr.push(v, c);
  return expr;
}

function renderModes() {
  $('map-modes').innerHTML = (['density', 'townships', 'heat'] as const)
    .map((m) => `<button type="button" data-mode="${m}" class="${m === mode ? 'on' : ''}">${t('mode_' + m)}</button>`).join('');
  $('map-modes').querySelectorAll<HTMLButtonElement>('button').forEach((b) => b.addEventListener('click', () => { mode = b.dataset.mode as any; applyMode(); }));
  const legend = mode === 'heat'
    ? HEAT.map(([k, c]) => `<span><i style="background:${c}"></i>${t(k)}</span>`).join('') + `<span><i style="background:#7a0040;border-radius:50%;width:10px"></i>${t('uncovered_mark')}</span><span><i style="background:#d7302780;outline:1px solid #d73027"></i>${t('gaps')}</span>`
    : (mode === 'density' ? DENSITY.map(([v, c]) => `<span><i style="background:${c}"></i>≥ ${v}</span>`) : SHARE.map(([v, c]) => `<span><i style="background:${c}"></i>≥ ${pct(v)}</span>`)).join('');
  $('mlegend').innerHTML = legend;
}

function applyMode() {
  if (!map.getLayer('county-fill')) return;
  const heat = mode === 'heat';
  map.setPaintProperty('county-fill', 'fill-color', mode === 'townships' ? step(SHARE, 'township_share') : step(DENSITY, 'piles_per_10k'));
  map.setPaintProperty('county-fill', 'fill-opacity', heat ? 0 : 0.85);
  for (const id of ['heat', 'uncovered', 'gaps-fill', 'gaps-line']) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', heat ? 'visible' : 'none');
  }
  renderModes();
}

async function addHeatmap() {
  const res = await fetch('/api/v1/coverage/heatmap.png');
  const extent = (res.headers.get('x-evgrid-extent') ?? '').split(',').map(Number);
  if (!res.ok || extent.length !== 4) return;
  const url = URL.createObjectURL(await res.blob());
  const [w, s, e, n] = extent;
  map.addSource('heat', { type: 'image', url, coordinates: [[w, n], [e, n], [e, s], [w, s]] });
  map.addLayer({ id: 'heat', type: 'raster', source: 'heat', paint: { 'raster-opacity': 0.85, 'raster-resampling': 'nearest' }, layout: { visibility: 'none' } }, 'county-line');
}

let mapLoaded: () => void;
const mapLoadedP = new Promise<void>((ok) => { mapLoaded = ok; });
map.on('load', () => mapLoaded());

async function initMap() {
  await mapLoadedP;
  const [counties, regions, circle] = await Promise.all([getJson('/api/v1/map/counties'), data.regionsP, data.circleP]);
  data.regions = regions;
  renderPlanForm();
  const byCode = new Map<string, any>((regions.regions ?? []).filter((r: any) => r.code).map((r: any) => [r.code, r]));
  for (const f of counties.features) {
    const r = byCode.get(f.properties.code);
    f.properties.piles_per_10k = r?.piles_per_10k_people ?? 0;
    f.properties.township_share = r && r.townships_total ? r.townships_covered / r.townships_total : 0;
  }
  map.addSource('counties', { type: 'geojson', data: counties });
  map.addLayer({ id: 'county-fill', type: 'fill', source: 'counties', paint: { 'fill-color': step(DENSITY, 'piles_per_10k'), 'fill-opacity': 0.85 } });
  map.addLayer({ id: 'county-line', type: 'line', source: 'counties', paint: { 'line-color': '#5a6a79', 'line-width': 1 } });
  await addHeatmap();
  const un = await data.uncoveredP;
  map.addSource('uncovered', { type: 'geojson', data: { type: 'FeatureCollection', features: (un.townships ?? []).map((x: any) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.centre.lng, x.centre.lat] }, properties: { name: x.name_zh, code: x.code } })) } });
  map.addLayer({ id: 'uncovered', type: 'circle', source: 'uncovered', layout: { visibility: 'none' }, paint: { 'circle-radius': 4, 'circle-color': '#7a0040', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  map.addSource('gaps', { type: 'geojson', data: { type: 'Feature', geometry: circle.gaps, properties: {} } });
  map.addLayer({ id: 'gaps-fill', type: 'fill', source: 'gaps', layout: { visibility: 'none' }, paint: { 'fill-color': '#d73027', 'fill-opacity': 0.5 } });
  map.addLayer({ id: 'gaps-line', type: 'line', source: 'gaps', layout: { visibility: 'none' }, paint: { 'line-color': '#d73027', 'line-width': 1.5 } });
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on('mousemove', 'county-fill', (e) => {
    const f = e.features?.[0];
    if (!f) return;
    const r = byCode.get((f.properties as any).code);
    if (!r) return;
    popup.setLngLat(e.lngLat).setHTML(`<b>${esc(r.name_zh)}</b><br>${t('mode_density')}: ${Number(r.piles_per_10k_people ?? 0).toFixed(1)}<br>${t('townships')}: ${r.townships_covered}/${r.townships_total}<br>${t('measured')}: ${(r.mean_distance_m / 1000).toFixed(2)} km`).addTo(map);
  });
  map.on('mouseleave', 'county-fill', () => popup.remove());
  map.fitBounds([[113.9, 24.45], [116.65, 27.15]], { padding: 10, duration: 0 });
  applyMode();
  map.once('idle', () => { data.mapReady = true; markReady(); });
}

// --- the siting plan -----------------------------------------------------------------------
let pmap: maplibregl.Map | null = null;

function renderPlanForm() {
  const select = $('plan-region') as HTMLSelectElement;
  const chosen = select.value;
  const counties = (data.regions?.regions ?? []).filter((r: any) => r.code);
  select.innerHTML = `<option value="">${esc(t('whole_city'))}</option>` + counties.map((r: any) => `<option value="${esc(r.code)}">${esc(r.name_zh)}</option>`).join('');
  select.value = chosen;
}

function planStatus(html: string, error = false) {
  $('plan-status').innerHTML = html;
  $('plan-status').classList.toggle('error', error);
}

function renderPlan() {
  const job = data.plan;
  if (!job) return;
  if (job.status === 'running' || job.status === 'queued') {
    planStatus(`${esc(t('plan_running'))}: ${esc(t('phase_' + job.phase))} · ${pct(job.progress)}<div class="bar-out" role="progressbar" aria-valuenow="${(job.progress * 100).toFixed(0)}"><div class="bar-in" style="width:${(job.progress * 100).toFixed(1)}%"></div></div>`);
    return;
  }
  if (job.status === 'failed') { planStatus(`${esc(t('plan_failed'))}: ${esc(job.error)}`, true); return; }
  const r = job.result;
  planStatus(`${esc(t('plan_done'))} · ${fmt(r.request.new_piles)} ${esc(t('new_piles'))} · ${r.sites.length} ${esc(t('stations'))} · ${r.seconds.toFixed(1)} s · ${esc(t('gap_to_bound'))} ${r.gap_pct.toFixed(3)}%`);
  $('plan-result').hidden = false;
  const km = r.request.radius_km;
  const rows: [string, string, number, number, number][] = [
    ['public_stations', t('public_stations'), r.before.public_stations, r.after.public_stations, 0],
    ['planning_radius_km', t('planning'), r.before.planning_radius_km, r.after.planning_radius_km, 2],
    ['share_within_radius', t('people_within').replace('{km}', String(km)), r.before.share_within_radius, r.after.share_within_radius, -1],
    ['mean_distance_km', t('mean_distance'), r.before.mean_distance_m / 1000, r.after.mean_distance_m / 1000, 2],
    ['townships_covered', t('townships_covered'), r.before.townships_covered, r.after.townships_covered, 0],
    ['hotspots_covered', t('hotspots_covered'), r.before.hotspots_covered, r.after.hotspots_covered, 0],
  ];
  const show = (v: number, d: number) => (d < 0 ? pct(v) : fmt(v, d));
  $('plan-compare').innerHTML = `<tr><th>${t('figure')}</th><th>${t('before')}</th><th>${t('after')}</th></tr>` +
    rows.map(([key, label, b, a, d]) => `<tr data-plan="${key}"><td>${esc(label)}</td><td class="n before">${show(b, d)}</td><td class="n after ${a !== b ? 'up' : ''}">${show(a, d)}</td></tr>`).join('') +
    `<tr data-plan="newly_covered"><td>${esc(t('newly'))}</td><td></td><td class="n after up">+${fmt(r.newly_covered)}</td></tr>`;
  const base = `/api/v1/plans/${job.id}?format=`;
  $('plan-exports').innerHTML = ['xlsx', 'csv', 'geojson'].map((f) => `<a href="${base}${f}" download>${f.toUpperCase()}</a>`).join(' ');
  $('plan-method').textContent = [...r.notes, r.method].join(' ');
  $('plan-sites').innerHTML = `<tr><th>${t('rank')}</th><th>${t('county')}</th><th>${t('name')}</th><th>${t('kind')}</th><th>${t('new_piles')}</th><th>${t('newly')}</th></tr>` +
    r.sites.map((x: any) => `<tr data-site="${x.rank}"><td class="n">${x.rank}</td><td>${esc(x.county_name ?? '')}</td><td>${esc(x.name)}</td><td>${esc(t('kind_' + x.kind))}</td><td class="n">${x.piles}</td><td class="n">${fmt(x.newly_covered)}</td></tr>`).join('');
  drawPlanMap(r);
}

function drawPlanMap(r: any) {
  const sites = { type: 'FeatureCollection', features: r.sites.map((x: any) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.location.lng, x.location.lat] }, properties: { rank: x.rank, name: x.name, piles: x.piles, newly: Math.round(x.newly_covered) } })) };
  const uncovered = { type: 'FeatureCollection', features: r.uncovered_after.map((p: any) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lng, p.lat] }, properties: {} })) };
  const put = () => {
    const m = pmap!;
    for (const [id, d] of [['plan-sites', sites], ['plan-uncovered', uncovered]] as const) {
      const src = m.getSource(id) as maplibregl.GeoJSONSource | undefined;
      if (src) src.setData(d as any); else m.addSource(id, { type: 'geojson', data: d as any });
    }
    if (!m.getLayer('plan-sites')) {
      m.addLayer({ id: 'plan-uncovered', type: 'circle', source: 'plan-uncovered', paint: { 'circle-radius': 4, 'circle-color': '#7a0040', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
      m.addLayer({ id: 'plan-sites', type: 'circle', source: 'plan-sites', paint: { 'circle-radius': ['+', 3, ['*', 0.9, ['sqrt', ['get', 'piles']]]], 'circle-color': '#eb6e00', 'circle-opacity': 0.85, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
      const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
      m.on('mousemove', 'plan-sites', (e) => {
        const p = e.features?.[0]?.properties as any;
        if (p) popup.setLngLat(e.lngLat).setHTML(`<b>${p.rank}. ${esc(p.name)}</b><br>${t('new_piles')}: ${p.piles}<br>${t('newly')}: ${fmt(p.newly)}`).addTo(m);
      });
      m.on('mouseleave', 'plan-sites', () => popup.remove());
    }
    m.once('idle', () => { (window as any).evgridPlanDrawn = r.sites.length; });
    m.triggerRepaint();
  };
  if (pmap) { put(); return; }
  pmap = new maplibregl.Map({
    container: 'pmap',
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }] },
    bounds: [[113.9, 24.45], [116.65, 27.15]], fitBoundsOptions: { padding: 10 }, attributionControl: false,
  });
  (window as any).evgridPlanMap = pmap;
  pmap.on('load', async () => {
    const counties = await getJson('/api/v1/map/counties');
    pmap!.addSource('pcounties', { type: 'geojson', data: counties });
    pmap!.addLayer({ id: 'pcounty-fill', type: 'fill', source: 'pcounties', paint: { 'fill-color': '#dfe9d8', 'fill-opacity': 0.8 } });
    pmap!.addLayer({ id: 'pcounty-line', type: 'line', source: 'pcounties', paint: { 'line-color': '#5a6a79', 'line-width': 1 } });
    put();
  });
}

async function pollPlan(id: number) {
  for (;;) {
    const res = await fetch(`/api/v1/plans/${id}`);
    if (!res.ok) { planStatus(`${esc(t('plan_failed'))}: HTTP ${res.status}`, true); break; }
    data.plan = await res.json();
    renderPlan();
    if (data.plan.status !== 'running' && data.plan.status !== 'queued') break;
    await new Promise((ok) => setTimeout(ok, 500));
  }
  ($('plan-run') as HTMLButtonElement).disabled = false;
}

$('plan-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const num = (id: string) => ($(id) as HTMLInputElement).value;
  const body: any = { new_piles: Number(num('plan-piles')), radius_km: Number(num('plan-radius')) };
  if (num('plan-site-count')) body.sites = Number(num('plan-site-count'));
  const region = ($('plan-region') as HTMLSelectElement).value;
  if (region) body.region = region;
  ($('plan-run') as HTMLButtonElement).disabled = true;
  const res = await fetch('/api/v1/plans', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (res.status !== 202) {
    planStatus(esc(res.status === 429 ? t('plan_busy') : `${t('plan_failed')}: ${answer.detail ?? res.status}`), true);
    ($('plan-run') as HTMLButtonElement).disabled = false;
    return;
  }
  data.plan = answer;
  renderPlan();
  pollPlan(answer.id);
});

function render() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n!); });
  $('lang').textContent = t('lang');
  ($('monthly') as HTMLAnchorElement).href = `/api/v1/reports/monthly.pdf?lang=${lang}`;
  renderCards();
  renderTargets();
  renderTables();
  renderCharts();
  renderModes();
  renderPlanForm();
  renderPlan();
  renderSuperiors();
}

// --- reporting upward ----------------------------------------------------------------------
async function loadSuperiors() {
  try {
    const list: any[] = await getJson('/api/v1/superiors');
    data.superiors = await Promise.all(list.map((s) => getJson(`/api/v1/superiors/${encodeURIComponent(s.id)}/delivery`)));
  } catch {
    data.superiors = data.superiors ?? [];
  }
  renderSuperiors();
}

function renderSuperiors() {
  const rows: any[] = data.superiors ?? [];
  const head = ['superior', 'sent', 'acked', 'not_acked', 'backlog', 'oldest', 'given_up', 'last_success', 'lag', 'disputed'];
  if (rows.length === 0) {
    $('superiors').innerHTML = `<tr><td>${esc(t('no_superiors'))}</td></tr>`;
    return;
  }
  const when = (s: number | null) => (s ? new Date(s * 1000).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB') : '—');
  $('superiors').innerHTML = `<tr>${head.map((h) => `<th>${esc(t(h))}</th>`).join('')}</tr>` + rows.map((r) => {
    const sent = r.attempts.reduce((n: number, a: any) => n + a.count, 0);
    const acked = r.attempts.filter((a: any) => a.delivered).reduce((n: number, a: any) => n + a.count, 0);
    const refusals = r.attempts.filter((a: any) => !a.delivered)
      .map((a: any) => `${a.ret ?? '—'}×${fmt(a.count)}`).join(' ');
    return `<tr data-superior="${esc(r.superior.id)}"><td>${esc(r.superior.name)}<br><small>${esc(r.superior.id)} · ${esc(r.superior.profile.name)}</small></td>`
      + `<td class="num">${fmt(sent)}</td><td class="num">${fmt(acked)}</td><td>${esc(refusals || '0')}</td>`
      + `<td class="num">${fmt(r.pending)}</td><td class="num">${r.oldest_pending_seconds == null ? '—' : fmt(r.oldest_pending_seconds, 1)}</td>`
      + `<td class="num">${fmt(r.given_up)}</td><td>${esc(when(r.last_success_at))}</td>`
      + `<td class="num">${r.lag_p50_ms == null ? '—' : `${fmt(r.lag_p50_ms)} / ${fmt(r.lag_p99_ms)}`}</td><td class="num">${fmt(r.disputes.length)}</td></tr>`;
  }).join('');
}

function markReady() {
  if (data.loaded && data.mapReady) (window as any).evgridReady = true;
}

$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('evgrid.lang', lang);
  render();
});
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

function showLogin() {
  $('login').hidden = false;
  $('main').hidden = true;
  (window as any).evgridLogin = true;
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = ($('login-user') as HTMLInputElement).value;
    const password = ($('login-pass') as HTMLInputElement).value;
    const res = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (res.ok) { location.reload(); return; }
    $('login-error').textContent = t(res.status === 429 ? 'login_limited' : 'login_failed');
  });
}

$('logout').addEventListener('click', async () => {
  await fetch('/api/v1/auth/logout', { method: 'POST' });
  location.reload();
});

function loadAll() {
data.regionsP = getJson('/api/v1/coverage/regions');
data.circleP = getJson('/api/v1/coverage/circle');
data.uncoveredP = getJson('/api/v1/coverage/townships?covered=false');
initMap();
Promise.all([
  getJson('/api/v1/stats/summary'), getJson('/api/v1/coverage/summary'), getJson('/api/v1/targets'),
  data.uncoveredP, getJson('/api/v1/operators/data-quality'), getJson('/api/v1/stats/utilization?bucket=hour&by=county'),
  getJson('/api/v1/stats/faults?by=county'), getJson('/api/v1/stats/breakdown?by=power_class'),
]).then(([stats, coverage, targets, uncovered, quality, util, faults, power]) => {
  Object.assign(data, { stats, coverage, targets, uncovered, quality, util, faults, power });
  render();
  data.loaded = true;
  markReady();
});
loadSuperiors();
setInterval(loadSuperiors, 10_000);
}

async function start() {
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n!); });
  $('lang').textContent = t('lang');
  const res = await fetch('/api/v1/auth/me');
  if (res.status === 401) { showLogin(); return; }
  const me = await res.json();
  $('who').textContent = `${me.username} (${me.role})`;
  $('logout').hidden = false;
  if (me.role !== 'regulator' && me.role !== 'admin') {
    $('login').hidden = false;
    $('login').innerHTML = `<p class="card">${esc(t('forbidden'))}</p>`;
    return;
  }
  $('main').hidden = false;
  map.resize();
  loadAll();
}
start();
