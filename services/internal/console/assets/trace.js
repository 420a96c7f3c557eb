import { get, seg, start, onSubmit, el, fillDL, showError, statusWords, partyName } from './api.js';

const $ = (id) => document.getElementById(id);
await start();

async function trace(gtin, lot) {
  const counts = [];
  const holders = new Map();
  let batch;
  let pageToken = '';
  do {
    const r = await get(`/v1/products/${seg(gtin)}/batches/${seg(lot)}:trace`, { pageSize: 1000, pageToken });
    batch = r.batch;
    if (!pageToken) counts.push(...(r.counts || []));
    for (const h of r.holders || []) holders.set(h.gln, `${h.name} (${h.gln})`);
    pageToken = r.nextPageToken;
  } while (pageToken);
  $('trace').hidden = false;
  $('trace-head').textContent = `Lot ${batch.lot} of ${batch.gtin}`;
  fillDL($('trace-batch'), [['Expiry (YYMMDD)', batch.expiry], ['Serials commissioned', batch.commissioned || '0'],
    ['State', batch.recalled ? 'recalled' : batch.withdrawn ? 'withdrawn' : 'active']]);
  const rows = [];
  for (const c of counts) {
    const holder = holders.get(c.custodianGln) || await partyName(c.custodianGln);
    rows.push(el('tr', {}, el('td', { text: statusWords[c.status] || c.status }), el('td', { text: holder }),
      el('td', { class: 'num', text: String(c.count) })));
  }
  $('trace-counts').tBodies[0].replaceChildren(...rows);
}

const q = new URLSearchParams(location.search);
if (q.get('gtin') && q.get('lot')) {
  $('t-gtin').value = q.get('gtin');
  $('t-lot').value = q.get('lot');
  trace(q.get('gtin'), q.get('lot')).catch((e) => showError(e.message));
}
onSubmit($('trace-form'), () => trace($('t-gtin').value.trim(), $('t-lot').value.trim()));
