// The page's logic: live clients over server-sent events, the object tree from the models, operations, charts, firmware, log.
// Every string that came from a device is put in the page with textContent or an attribute value, never as markup.
import { LineChart } from './chart.js';

const state = { clients: [], selected: undefined, objects: new Map(), observations: new Map(), log: [] };
const $ = (id) => document.getElementById(id);

/** Makes an element; string children become text nodes. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const time = (ms) => new Date(ms).toLocaleTimeString();
const codeClass = (code) => (/^2\./.test(code) ? 'code-ok' : 'code-err');
const api = (ep, rest) => `/api/clients/${encodeURIComponent(ep)}/${rest}`;

// ---- clients ----

function renderClients() {
  const list = $('clients');
  list.replaceChildren(...state.clients.map((c) => el('li', {
    class: c.endpoint === state.selected ? 'selected' : undefined, 'data-endpoint': c.endpoint,
    onclick: () => select(c.endpoint),
  }, el('div', { class: 'ep' }, c.endpoint),
  el('div', { class: 'meta' }, `LwM2M ${c.lwm2mVersion} · ${c.transport} · lt ${c.lifetime}s · ${c.binding}`),
  el('div', { class: 'meta' }, `objects ${c.objects.map((o) => o.objectId).join(', ')} · updated ${time(c.lastUpdateAt)}`))));
  $('no-clients').hidden = state.clients.length > 0;
  const filter = $('log-filter');
  const current = filter.value;
  filter.replaceChildren(el('option', { value: '' }, 'all'), ...[...new Set([...state.clients.map((c) => c.endpoint), ...state.log.map((l) => l.endpoint)])]
    .map((ep) => el('option', { value: ep }, ep)));
  filter.value = current;
  const c = state.clients.find((x) => x.endpoint === state.selected);
  if (state.selected !== undefined && c) renderInfo(c);
  if (state.selected !== undefined && !c) $('client-name').textContent = `${state.selected} (not registered)`;
}

function renderInfo(c) {
  $('client-info').replaceChildren(...[
    ['LwM2M version', c.lwm2mVersion], ['transport', `${c.transport} from ${c.address}`], ['lifetime', `${c.lifetime} s`],
    ['binding', c.binding], ['registered', time(c.registeredAt)], ['last Update', c.updates ? time(c.lastUpdateAt) : 'none yet'],
    ['objects', c.objects.map((o) => `/${o.objectId}${o.instances.length ? ` (${o.instances.join(', ')})` : ''}`).join(' ')],
  ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

async function select(ep) {
  const same = state.selected === ep;
  state.selected = ep;
  state.objects = new Map();
  $('client').hidden = false;
  $('client-name').textContent = ep;
  $('result').replaceChildren();
  renderClients();
  const r = await fetch(api(ep, 'models'));
  const body = await r.json();
  if (!r.ok) return showResult({ code: String(r.status), text: body.error });
  for (const o of body.objects) state.objects.set(o.id, o);
  // The charts of what is still observed stay; the rest goes.
  const kept = same ? state.observations : new Map();
  state.observations = new Map(body.observed.map((p) => [p, kept.get(p) ?? {}]));
  renderObjects();
  renderObservations();
}

// ---- the object tree ----

function formatValue() {
  const v = $('format').value;
  return v === '' ? undefined : Number(v);
}

function button(label, op, path, extra) {
  return el('button', { type: 'button', 'data-op': op, 'data-path': path, onclick: () => run(op, path, extra?.()) }, label);
}

function attrsButton(path) {
  return el('button', {
    type: 'button', 'data-op': 'write-attributes', 'data-path': path,
    onclick: () => {
      const attributes = prompt(`Write-Attributes on ${path} (e.g. pmin=1&pmax=10; a name alone removes it)`, 'pmin=1&pmax=30');
      if (attributes !== null) run('write-attributes', path, { attributes });
    },
  }, 'Attributes');
}

function observeButton(path) {
  const observed = state.observations.has(path);
  return el('button', { type: 'button', 'data-op': observed ? 'cancel-observe' : 'observe', 'data-path': path, onclick: () => run(observed ? 'cancel-observe' : 'observe', path) },
    observed ? 'Cancel observe' : 'Observe');
}

function resourceRow(objectId, instanceId, r) {
  const path = `/${objectId}/${instanceId}/${r.id}`;
  const input = el('input', { type: 'text', 'data-input': path, placeholder: r.type === 'Time' ? 'seconds or ISO date' : r.type });
  const ops = r.operations || '';
  const cells = [];
  if (ops.includes('R')) cells.push(button('Read', 'read', path), observeButton(path));
  if (ops.includes('W')) cells.push(input, button('Write', 'write', r.multiple ? `${path}/0` : path, () => ({ value: input.value })));
  if (ops.includes('E')) {
    const args = el('input', { type: 'text', 'data-args': path, placeholder: "args: 0='x',1" });
    cells.push(args, button('Execute', 'execute', path, () => (args.value ? { args: args.value } : {})));
  }
  cells.push(button('Discover', 'discover', path), attrsButton(path));
  const range = r.range ? r.range.text : '';
  return el('tr', { 'data-resource': path },
    el('td', {}, String(r.id)),
    el('td', { title: r.description }, r.name, r.mandatory ? ' *' : ''),
    el('td', {}, `${r.type}${r.multiple ? ' []' : ''}`), el('td', {}, r.units ?? ''), el('td', {}, range),
    el('td', { class: 'value', 'data-value': path }),
    el('td', {}, ...cells),
    el('td', { class: 'desc' }, r.description ?? ''));
}

function instanceBlock(o, model, instanceId) {
  const path = `/${o.objectId}/${instanceId}`;
  const rows = model ? model.resources.map((r) => resourceRow(o.objectId, instanceId, r)) : [];
  const writeInstance = () => {
    const values = {};
    for (const input of document.querySelectorAll(`[data-input^="${path}/"]`)) {
      if (input.value !== '') values[input.dataset.input.split('/')[3]] = input.value;
    }
    return { values };
  };
  return el('div', { class: 'instance', 'data-instance': path },
    el('div', { class: 'bar' }, el('span', { class: 'title' }, `Instance ${instanceId}`), button('Read', 'read', path), observeButton(path),
      button('Write filled-in values', 'write', path, writeInstance), button('Discover', 'discover', path), attrsButton(path), button('Delete', 'delete', path)),
    el('table', {}, el('thead', {}, el('tr', {}, ...['id', 'name', 'type', 'units', 'range', 'value', 'operations', 'description'].map((h) => el('th', {}, h)))),
      el('tbody', { 'data-rows': path }, ...rows)));
}

function renderObjects() {
  const c = state.clients.find((x) => x.endpoint === state.selected);
  if (!c) return;
  $('objects').replaceChildren(...c.objects.map((o) => {
    const model = state.objects.get(o.objectId);
    const path = `/${o.objectId}`;
    const create = el('input', { type: 'text', 'data-create': path, placeholder: '{"0": "value of resource 0"}' });
    // Device (/3) starts open; the others fold, so the page stays short.
    return el('details', { class: 'object', 'data-object': path, open: o.objectId === 3 ? '' : undefined },
      el('summary', { class: 'title' }, model ? `${model.name} ${path}` : `Object ${path} (no model)`,
        model ? el('span', { class: 'muted' }, ` v${model.version}${model.multiple ? ', multiple instances' : ''}`) : undefined),
      el('div', { class: 'bar' }, button('Read', 'read', path), observeButton(path), button('Discover', 'discover', path), attrsButton(path),
        create, button('Create', 'create', path, () => {
          try {
            return { values: create.value ? JSON.parse(create.value) : {} };
          } catch {
            return { values: create.value };
          }
        })),
      model?.description ? el('div', { class: 'muted desc' }, model.description) : undefined,
      ...o.instances.map((i) => instanceBlock(o, model, i)));
  }));
}

/** Puts read values into the table cells (a row is added for a resource the models lack). */
function showValues(values) {
  const multi = new Map();
  for (const v of values) {
    const parts = v.path.split('/');
    const resPath = parts.slice(0, 4).join('/');
    if (parts.length === 5) {
      if (!multi.has(resPath)) multi.set(resPath, []);
      multi.get(resPath).push(`[${parts[4]}] ${v.text}`);
    } else multi.set(resPath, [v.text]);
  }
  for (const [resPath, texts] of multi) {
    let cell = document.querySelector(`[data-value="${resPath}"]`);
    if (!cell) {
      const tbody = document.querySelector(`[data-rows="${resPath.split('/').slice(0, 3).join('/')}"]`);
      if (!tbody) continue;
      cell = el('td', { class: 'value', 'data-value': resPath });
      tbody.append(el('tr', { 'data-resource': resPath }, el('td', {}, resPath.split('/')[3]), el('td', {}, '(no model)'), el('td'), el('td'), el('td'), cell,
        el('td', {}, button('Read', 'read', resPath), observeButton(resPath)), el('td')));
    }
    cell.textContent = texts.join('\n');
  }
}

function showResult(r, what) {
  const box = $('result');
  box.className = `result${/^2\./.test(r.code) ? '' : ' error'}`;
  const lines = [`${what ?? ''} → ${r.code}${r.ms !== undefined ? ` in ${r.ms} ms` : ''}${r.location ? `, created ${r.location}` : ''}`];
  for (const v of r.values ?? []) lines.push(`${v.path} = ${v.text}`);
  for (const l of r.links ?? []) lines.push(`<${l.target}>${l.attributes ? `;${l.attributes}` : ''}`);
  if (r.text) lines.push(r.text);
  box.textContent = lines.join('\n');
  box.dataset.code = r.code;
}

async function run(op, path, extra = {}) {
  const ep = state.selected;
  const format = formatValue();
  const body = { op, path, ...(format === undefined || op === 'discover' || op === 'delete' || op === 'execute' ? {} : { format }), ...extra };
  const res = await fetch(api(ep, 'operations'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const r = await res.json();
  if (!res.ok) return showResult({ code: `refused (${res.status})`, text: r.error }, `${op} ${path}`);
  showResult(r, `${op} ${path}`);
  if (r.values) showValues(r.values);
  if (op === 'create' && /^2\./.test(r.code)) refreshSoon();
}

function refreshSoon() {
  setTimeout(() => select(state.selected), 300);
}

// ---- observations ----

function observationBlock(path) {
  const o = state.observations.get(path);
  if (!o.root) {
    o.charts = new Map();
    o.chartBox = el('div', { class: 'charts' });
    o.history = el('div', { class: 'history' });
    o.root = el('div', { class: 'observation', 'data-observation': path }, el('strong', {}, path), ' ', observeButton(path), o.chartBox, o.history);
  }
  return o.root;
}

function renderObservations() {
  const paths = [...state.observations.keys()];
  $('observations').replaceChildren(...(paths.length ? paths.map(observationBlock) : [el('p', { class: 'muted' }, 'Nothing observed. Press Observe on an object, instance or resource.')]));
  for (const b of document.querySelectorAll('button[data-op="observe"], button[data-op="cancel-observe"]')) b.replaceWith(observeButton(b.dataset.path));
}

function onNotification(e) {
  const o = state.observations.get(e.path);
  if (!o) return;
  observationBlock(e.path);
  for (const v of e.result.values ?? []) {
    const model = modelOf(v.path);
    if (v.number !== undefined && model && ['Integer', 'Unsigned Integer', 'Float', 'Time'].includes(model.type)) {
      if (!o.charts.has(v.path)) {
        const chart = new LineChart(`${v.path} ${model.name}${model.units ? ` (${model.units})` : ''}`);
        chart.root.dataset.chart = v.path;
        o.charts.set(v.path, chart);
        o.chartBox.append(chart.root);
      }
      o.charts.get(v.path).push(e.time, v.number);
    } else {
      o.history.prepend(el('div', {}, `${time(e.time)} ${v.path} = ${v.text}`));
    }
  }
  if (e.result.text) o.history.prepend(el('div', {}, `${time(e.time)} ${e.result.code} ${e.result.text}`));
  if (e.result.values) showValues(e.result.values);
}

function modelOf(path) {
  const [, objectId, , resourceId] = path.split('/');
  return state.objects.get(Number(objectId))?.resources.find((r) => r.id === Number(resourceId));
}

// ---- firmware ----

function firmwareStart(mode) {
  const file = $('fw-file').files[0];
  if (!file) return showResult({ code: 'refused', text: 'choose a firmware file first' }, `firmware ${mode}`);
  file.arrayBuffer().then(async (bytes) => {
    const res = await fetch(`${api(state.selected, 'firmware')}?mode=${mode}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const r = await res.json();
    if (!res.ok) showResult({ code: `refused (${res.status})`, text: r.error }, `firmware ${mode}`);
  });
}

function onFirmware(e) {
  if (e.endpoint !== state.selected) return;
  const s = e.status;
  if (s.total) {
    const bar = $('fw-progress');
    bar.max = s.total;
    if (s.bytes !== undefined) bar.value = s.bytes;
    if (s.phase === 'done' || s.state === 2) bar.value = s.total;
  }
  const rows = [['phase', s.phase], ['mode', s.mode], ['bytes', s.bytes !== undefined ? `${s.bytes} of ${s.total}` : undefined],
    ['State (/5/0/3)', s.state !== undefined ? `${s.state} ${s.stateName ?? ''}` : undefined],
    ['Update Result (/5/0/5)', s.result !== undefined ? `${s.result} ${s.resultName ?? ''}` : undefined],
    ['Package URI', s.uri], ['Firmware Version (/3/0/3)', s.firmwareVersion], ['message', s.message]];
  const dl = $('fw-status');
  const old = new Map([...dl.querySelectorAll('dd')].map((dd) => [dd.dataset.key, dd.textContent]));
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const value = v ?? old.get(k);
    return value === undefined ? [] : [el('dt', {}, k), el('dd', { 'data-key': k }, value)];
  }));
  dl.dataset.phase = s.phase;
}

// ---- log ----

function logRow(l) {
  return el('tr', { 'data-endpoint': l.endpoint }, el('td', {}, time(l.time)), el('td', {}, l.endpoint), el('td', {}, l.kind), el('td', {}, l.op),
    el('td', {}, l.path), el('td', { class: codeClass(l.code) }, l.code), el('td', {}, l.ms ?? ''), el('td', {}, l.detail ?? ''));
}

function renderLog() {
  const f = $('log-filter').value;
  $('log').replaceChildren(...state.log.filter((l) => f === '' || l.endpoint === f).slice(-300).reverse().map(logRow));
}

// ---- events ----

function connect() {
  const events = new EventSource('/api/events');
  events.onopen = () => { $('connection').textContent = 'live'; };
  events.onerror = () => { $('connection').textContent = 'disconnected, retrying…'; };
  events.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === 'clients') {
      const before = state.clients.find((c) => c.endpoint === state.selected);
      state.clients = e.clients;
      renderClients();
      const after = state.clients.find((c) => c.endpoint === state.selected);
      if (after && (!before || before.registeredAt !== after.registeredAt || JSON.stringify(before.objects) !== JSON.stringify(after.objects))) select(state.selected);
    } else if (e.type === 'log') {
      state.log.push(e.entry);
      if (state.log.length > 2000) state.log.shift();
      const f = $('log-filter').value;
      if (f === '' || f === e.entry.endpoint) $('log').prepend(logRow(e.entry));
    } else if (e.type === 'observation') {
      if (e.endpoint !== state.selected) return;
      if (e.active) state.observations.set(e.path, {});
      else state.observations.delete(e.path);
      renderObservations();
    } else if (e.type === 'notification') {
      if (e.endpoint === state.selected) onNotification(e);
    } else if (e.type === 'firmware') onFirmware(e);
  };
}

async function start() {
  $('log-filter').addEventListener('change', renderLog);
  $('fw-push').addEventListener('click', () => firmwareStart('push'));
  $('fw-pull').addEventListener('click', () => firmwareStart('pull'));
  const log = await fetch('/api/log');
  if (log.ok) state.log = await log.json();
  renderLog();
  connect();
}

start();
