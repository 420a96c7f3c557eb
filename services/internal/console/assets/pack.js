import { call, get, seg, start, onSubmit, el, fillDL, showError, statusWords, partyName, when } from './api.js';
import { verifyEntries } from './proof.js';

const $ = (id) => document.getElementById(id);
await start();

const stepWords = {
  BIZ_STEP_COMMISSIONING: 'Commissioned', BIZ_STEP_PACKING: 'Packed', BIZ_STEP_UNPACKING: 'Unpacked',
  BIZ_STEP_SHIPPING: 'Shipped', BIZ_STEP_RECEIVING: 'Received', BIZ_STEP_DISPENSING: 'Dispensed',
  BIZ_STEP_DECOMMISSIONING: 'Decommissioned', BIZ_STEP_DESTROYING: 'Destroyed', BIZ_STEP_INSPECTING: 'Verified',
  BIZ_STEP_RETURNING: 'Returned', BIZ_STEP_HOLDING: 'Held (batch recalled or withdrawn)',
  BIZ_STEP_UNDO_DECOMMISSION: 'Decommission undone',
};

/** Every page of the pack's history, each page's proofs checked here. */
async function loadHistory(gtin, serial) {
  const entries = [];
  let first;
  let verified = true;
  let pageToken = '';
  do {
    const r = await get(`/v1/products/${seg(gtin)}/packs/${seg(serial)}/history`, { pageSize: 1000, pageToken });
    first ??= r;
    let results = [];
    try {
      ({ results } = await verifyEntries(r.checkpoint || {}, (r.entries || []).map((e) => ({ index: e.index, data: e.data, proof: e.inclusionProof }))));
    } catch {
      results = (r.entries || []).map(() => false);
    }
    (r.entries || []).forEach((e, i) => { e.proved = results[i]; verified &&= results[i]; });
    entries.push(...(r.entries || []));
    pageToken = r.nextPageToken;
  } while (pageToken);
  return { pack: first.pack, status: first.status, entries, verified: verified && entries.length > 0 };
}

function placeOf(ev, entry) {
  return (ev && (ev.bizLocation || ev.readPoint)) || entry.partyGln;
}

async function show(gtin, serial) {
  $('pack').hidden = true;
  const h = await loadHistory(gtin, serial);
  const proof = $('proof-status');
  proof.className = 'proof ' + (h.verified ? 'ok' : 'stop');
  proof.textContent = h.verified
    ? `✓ Proofs verified in this browser: all ${h.entries.length} steps are in the ledger's signed checkpoint.`
    : '✗ Proof FAILED: a step is not proven to be in the ledger\'s signed checkpoint.';
  const p = h.pack || {};
  fillDL($('pack-state'), [['GTIN', p.gtin], ['Serial', p.serial], ['Lot', p.lot], ['Expiry (YYMMDD)', p.expiry],
    ['Status now', statusWords[h.status] || h.status], ['Held by', await partyName(p.custodianGln)],
    ['In container', p.parentSscc]]);

  const items = [];
  const route = [];
  const ssccs = new Set(p.parentSscc ? [p.parentSscc] : []);
  for (const e of h.entries) {
    const ev = e.event;
    const entry = e.entry || {};
    const at = (ev && ev.eventTime) || entry.recordTime;
    const party = await partyName(entry.partyGln);
    const place = await partyName(placeOf(ev, entry));
    const step = ev ? (stepWords[ev.bizStep] || ev.bizStep) : 'Ledger entry';
    if (e.viaSscc) ssccs.add(e.viaSscc);
    if (route.at(-1) !== entry.partyGln) route.push(entry.partyGln);
    const dest = ev && ev.bizStep === 'BIZ_STEP_SHIPPING' && (ev.destinations || [])[0];
    if (dest && route.at(-1) !== dest.gln) route.push(dest.gln);
    items.push(el('li', { class: e.proved ? 'proved' : 'unproved' },
      el('time', { datetime: at, text: when(at) }),
      el('strong', { text: step }),
      el('span', { text: `by ${party}` }),
      el('span', { text: `at ${place}` }),
      e.viaSscc ? el('span', { text: `inside container ${e.viaSscc}` }) : null,
      el('small', { text: `ledger entry ${e.index} · ${e.proved ? 'proof verified' : 'proof FAILED'}` })));
  }
  $('timeline').replaceChildren(...items);
  $('route').replaceChildren(await routeSVG(route));
  const boxes = [];
  for (const s of ssccs) {
    let text = `SSCC ${s}`;
    try {
      const c = await call('GET', '/v1/containers/' + seg(s));
      text += ` · held by ${await partyName(c.custodianGln)}${c.parentSscc ? ' · inside ' + c.parentSscc : ''}`;
    } catch (err) {
      text += ` (${err.message})`;
    }
    boxes.push(el('li', { text }));
  }
  $('containers').replaceChildren(...(boxes.length ? boxes : [el('li', { text: 'None: it travelled loose.' })]));
  $('pack').hidden = false;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** The custody path as a route of parties, left to right. */
async function routeSVG(glns) {
  const names = await Promise.all(glns.map(partyName));
  const step = 180;
  const w = Math.max(step * glns.length, step);
  const s = svg('svg', { viewBox: `0 0 ${w} 110`, role: 'img', class: 'route-svg' });
  s.append(svg('title', {}, 'Custody route: ' + names.join(' → ')));
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '8', markerHeight: '8', orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }));
  defs.append(marker);
  s.append(defs);
  names.forEach((name, i) => {
    const x = step * i + step / 2;
    if (i > 0) s.append(svg('line', { x1: x - step + 18, y1: 35, x2: x - 20, y2: 35, class: 'leg', 'marker-end': 'url(#arrow)' }));
    s.append(svg('circle', { cx: x, cy: 35, r: 16, class: 'stop' }));
    s.append(svg('text', { x, y: 40, 'text-anchor': 'middle', class: 'num' }, String(i + 1)));
    const [label, gln] = name.includes(' (') ? [name.slice(0, name.lastIndexOf(' (')), name.slice(name.lastIndexOf(' (') + 2, -1)] : [name, ''];
    s.append(svg('text', { x, y: 75, 'text-anchor': 'middle' }, label.length > 24 ? label.slice(0, 23) + '…' : label));
    if (gln) s.append(svg('text', { x, y: 95, 'text-anchor': 'middle', class: 'gln' }, gln));
  });
  return s;
}

const q = new URLSearchParams(location.search);
if (q.get('gtin') && q.get('serial')) {
  $('k-gtin').value = q.get('gtin');
  $('k-serial').value = q.get('serial');
  show(q.get('gtin'), q.get('serial')).catch((e) => showError(e.message));
}
onSubmit($('pack-form'), async () => {
  const gtin = $('k-gtin').value.trim();
  const serial = $('k-serial').value.trim();
  window.history.replaceState(null, '', `?gtin=${encodeURIComponent(gtin)}&serial=${encodeURIComponent(serial)}`);
  await show(gtin, serial);
});
