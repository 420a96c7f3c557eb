import { call, get, seg, start, onSubmit, el, fillDL, showError } from './api.js';

const $ = (id) => document.getElementById(id);
const me = await start();
let batch = null; // {gtin, lot}

async function loadProducts() {
  if (!me) return;
  const r = await get('/v1/products', { manufacturerGln: me.gln, pageSize: 1000 });
  const rows = (r.products || []).map((p) => el('tr', {},
    el('td', { text: p.gtin }), el('td', { text: p.name }), el('td', { text: p.form }),
    el('td', { text: p.strength }), el('td', { text: p.packSize ? String(p.packSize) : '' })));
  $('products').tBodies[0].replaceChildren(...rows);
  $('gtins').replaceChildren(...(r.products || []).map((p) => el('option', { value: p.gtin, text: p.name })));
}
loadProducts().catch((e) => showError(e.message));

onSubmit($('product-form'), async () => {
  const product = { gtin: $('p-gtin').value.trim(), name: $('p-name').value.trim(),
    form: $('p-form').value.trim(), strength: $('p-strength').value.trim() };
  const size = $('p-size').value.trim();
  if (size) product.packSize = Number(size);
  await call('POST', '/v1/products', product);
  $('product-status').textContent = `Registered ${product.name}.`;
  await loadProducts();
});

function batchPath(b) { return `/v1/products/${seg(b.gtin)}/batches/${seg(b.lot)}`; }

function showBatch(b) {
  batch = { gtin: b.gtin, lot: b.lot };
  $('batch').hidden = false;
  const state = b.recalled ? 'recalled' : b.withdrawn ? 'withdrawn' : 'active';
  fillDL($('batch-fields'), [['GTIN', b.gtin], ['Lot', b.lot], ['Expiry (YYMMDD)', b.expiry],
    ['Serials commissioned', b.commissioned || '0'], ['State', state]]);
  $('recall').disabled = b.recalled;
  $('withdraw').disabled = b.recalled || b.withdrawn;
  $('trace-link').href = `/ui/trace?gtin=${encodeURIComponent(b.gtin)}&lot=${encodeURIComponent(b.lot)}`;
}

async function openBatch() {
  const b = { gtin: $('b-gtin').value.trim(), lot: $('b-lot').value.trim() };
  const r = await call('GET', batchPath(b));
  showBatch(r.batch);
  $('batch-status').textContent = '';
}

onSubmit($('batch-form'), openBatch);
$('batch-create').addEventListener('click', async () => {
  showError('');
  try {
    const gtin = $('b-gtin').value.trim();
    const r = await call('POST', `/v1/products/${seg(gtin)}/batches`,
      { lot: $('b-lot').value.trim(), expiry: $('b-expiry').value.trim() });
    showBatch(r.batch);
    $('batch-status').textContent = `Registered lot ${r.batch.lot}.`;
  } catch (e) {
    showError(e.message);
  }
});

onSubmit($('commission-form'), async () => {
  if (!batch) return;
  const count = Number($('c-count').value);
  if (!Number.isInteger(count) || count < 1) throw new Error('Serials to commission: a whole number from 1.');
  const requestId = 'ui-' + crypto.randomUUID();
  const bar = $('commission-progress');
  const status = $('commission-status');
  bar.max = 1; bar.value = 0;
  status.textContent = `Commissioning ${count} serials…`;
  const b = { ...batch };
  let done = false;
  const poll = async () => {
    while (!done) {
      try {
        const p = await call('GET', `${batchPath(b)}/commissionRequests/${seg(requestId)}`);
        if (p.chunks) { bar.max = p.chunks; bar.value = (p.recordedChunks || []).length; }
        if (!done) status.textContent = `Commissioning: ${p.serialsRecorded || 0} of ${count} serials recorded…`;
      } catch { /* not started yet */ }
      await new Promise((r) => setTimeout(r, 400));
    }
  };
  const polling = poll();
  try {
    const r = await call('POST', `${batchPath(b)}:commission`, { count, requestId });
    bar.max = r.chunks || 1; bar.value = bar.max;
    status.textContent = `Commissioned ${r.commissioned} serials (from ledger entry ${r.firstLedgerIndex}).`;
  } finally {
    done = true;
    await polling;
  }
  const again = await call('GET', batchPath(b));
  showBatch(again.batch);
});

/** Asks for confirmation in a modal dialog; resolves true on Confirm. */
function confirmDialog(text) {
  const d = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.returnValue = '';
    d.showModal();
    $('confirm-no').focus();
  });
}

for (const [id, verb, done] of [['recall', 'Recall', 'recalled'], ['withdraw', 'Withdraw', 'withdrawn']]) {
  $(id).addEventListener('click', async () => {
    if (!batch) return;
    showError('');
    const b = { ...batch };
    const ok = await confirmDialog(`${verb} lot ${b.lot} of GTIN ${b.gtin}? Every pack of the batch will be refused at the counter. This cannot be undone.`);
    if (!ok) return;
    try {
      const r = await call('POST', `${batchPath(b)}:${id}`, { reason: $('r-reason').value.trim() });
      if (r.outcome && !r.outcome.applied) throw new Error(r.outcome.reason);
      $('batch-status').textContent = `Lot ${b.lot} ${done}.`;
      showBatch((await call('GET', batchPath(b))).batch);
    } catch (e) {
      showError(`${verb}: ${e.message}`);
    }
  });
}
