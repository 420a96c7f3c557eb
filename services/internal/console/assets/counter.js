import { call, start, onSubmit, el, fillDL, showError, statusWords, when } from './api.js';

const GS = '\u001d';
const UNDO_DAYS = 10;
const $ = (id) => document.getElementById(id);

await start();
const scan = $('scan');
const gs = $('gs');
gs.value = sessionStorage.getItem('pedigree.gs') ?? '|';
gs.addEventListener('change', () => sessionStorage.setItem('pedigree.gs', gs.value));
scan.focus();

let current = null; // {barcode, resp}
const recent = JSON.parse(sessionStorage.getItem('pedigree.recent') || '[]');
renderRecent();

/** What the scanner typed, with its GS stand-in turned back into GS. */
function barcodeOf(typed) {
  const s = typed.trim();
  return gs.value ? s.split(gs.value).join(GS) : s;
}

const unknownCodes = ['ALERT_CODE_UNKNOWN_PRODUCT', 'ALERT_CODE_UNKNOWN_BATCH', 'ALERT_CODE_UNKNOWN_SERIAL'];
const mismatchCodes = ['ALERT_CODE_BATCH_MISMATCH', 'ALERT_CODE_EXPIRY_MISMATCH'];

/** The answer in a pharmacist's words: {ok, head, advice}. */
export function verdict(r) {
  const codes = new Set((r.alerts || []).map((a) => a.code));
  if (r.dispensable) return { ok: true, head: 'May dispense', advice: 'Genuine pack, active, not recalled or expired.' };
  if (unknownCodes.some((c) => codes.has(c)) || (!r.pack && r.status === 'PACK_STATUS_UNSPECIFIED')) {
    return { ok: false, head: 'Do not dispense: unknown pack, counterfeit suspected', advice: 'This code is not registered. Keep the pack aside; an alert has been raised.' };
  }
  if (mismatchCodes.some((c) => codes.has(c))) {
    return { ok: false, head: 'Do not dispense: code does not match, counterfeit suspected', advice: 'The batch or expiry in the code differs from the registered pack. Keep the pack aside; an alert has been raised.' };
  }
  const words = {
    PACK_STATUS_RECALLED: ['recalled', 'The batch has been recalled. Return the pack to your wholesaler.'],
    PACK_STATUS_WITHDRAWN: ['withdrawn', 'The batch has been withdrawn from the market.'],
    PACK_STATUS_EXPIRED: ['expired', 'The pack is past its expiry date.'],
    PACK_STATUS_SUPPLIED: ['already dispensed', 'This pack was already handed out. If it was not by you just now, keep it aside.'],
    PACK_STATUS_STOLEN: ['reported stolen', 'Keep the pack aside and report it.'],
    PACK_STATUS_DESTROYED: ['destroyed', 'This pack was recorded as destroyed. Keep it aside and report it.'],
    PACK_STATUS_LOCKED: ['locked', 'The pack is locked pending an investigation.'],
  };
  const w = words[r.status];
  if (w) return { ok: false, head: 'Do not dispense: ' + w[0], advice: w[1] };
  if (r.status && r.status !== 'PACK_STATUS_ACTIVE') {
    return { ok: false, head: 'Do not dispense: decommissioned (' + (statusWords[r.status] || r.status) + ')', advice: 'The pack was taken out of the supply chain.' };
  }
  return { ok: false, head: 'Do not dispense', advice: r.reason || 'The pack may not be supplied now.' };
}

function show(v, r) {
  const sec = $('verdict');
  sec.hidden = false;
  sec.className = 'verdict ' + (v.ok ? 'ok' : 'stop');
  $('verdict-mark').textContent = v.ok ? '✓' : '✗';
  $('verdict-head').textContent = v.head;
  $('verdict-advice').textContent = v.advice;
  const s = r.scanned || {};
  fillDL($('verdict-pack'), [
    ['Product', r.product ? [r.product.name, r.product.strength, r.product.form].filter(Boolean).join(', ') : 'not registered'],
    ['GTIN', s.gtin], ['Serial', s.serial], ['Batch', s.lot], ['Expiry (YYMMDD)', s.expiry],
    ['Status', statusWords[r.status] || r.status],
  ]);
  $('verdict-reason').textContent = r.reason ? 'Ledger: ' + r.reason : '';
  const decommissioned = r.pack && r.pack.decommission && r.pack.decommission.time &&
    Date.now() - Date.parse(r.pack.decommission.time) < UNDO_DAYS * 864e5 &&
    !['PACK_STATUS_STOLEN', 'PACK_STATUS_DESTROYED', 'PACK_STATUS_RECALLED', 'PACK_STATUS_WITHDRAWN', 'PACK_STATUS_EXPIRED'].includes(r.status);
  $('dispense').hidden = !v.ok;
  $('decommission-group').hidden = !v.ok;
  $('undo').hidden = !decommissioned;
}

function remember(label, words, ok) {
  recent.unshift({ at: new Date().toISOString(), label, words, ok });
  recent.length = Math.min(recent.length, 20);
  sessionStorage.setItem('pedigree.recent', JSON.stringify(recent));
  renderRecent();
}

function renderRecent() {
  $('recent').replaceChildren(...recent.map((x) => el('li', { class: x.ok ? 'ok' : 'stop' },
    el('time', { datetime: x.at, text: when(x.at) }), ' ', el('span', { text: x.label }), ' — ',
    el('strong', { text: x.words }))));
}

function label(r) {
  const s = r.scanned || {};
  return `${r.product ? r.product.name : 'GTIN ' + (s.gtin || '?')} · serial ${s.serial || '?'}`;
}

onSubmit($('scan-form'), async () => {
  $('action-status').textContent = '';
  const barcode = barcodeOf(scan.value);
  if (!barcode) { scan.focus(); throw new Error('Scan or type the code first.'); }
  const resp = await call('POST', '/v1/packs:verify', { pack: { barcode } });
  const v = verdict(resp);
  current = { barcode, resp };
  show(v, resp);
  remember(label(resp), v.head, v.ok);
  scan.value = '';
  scan.focus();
});

async function act(path, body, done) {
  if (!current) return;
  showError('');
  const status = $('action-status');
  status.textContent = 'Recording…';
  try {
    const r = await call('POST', path, { pack: { barcode: current.barcode }, ...body });
    const o = r.outcome || {};
    if (!o.applied) throw new Error(o.reason || 'refused');
    status.textContent = done + ` (ledger entry ${r.ledgerIndex}).`;
    remember(label(current.resp), done, true);
    return o;
  } catch (e) {
    status.textContent = '';
    showError('Not recorded: ' + e.message);
    return null;
  }
}

$('dispense').addEventListener('click', async () => {
  const o = await act('/v1/packs:dispense', {}, 'Dispensed');
  if (o) afterDecommission(o.status || 'PACK_STATUS_SUPPLIED');
});
$('decommission').addEventListener('click', async () => {
  const sel = $('decommission-reason');
  const o = await act('/v1/packs:decommission', { reason: sel.value }, 'Decommissioned: ' + sel.selectedOptions[0].textContent);
  if (o) afterDecommission(o.status);
});
$('undo').addEventListener('click', async () => {
  const o = await act('/v1/packs:undo', {}, 'Undone: the pack is active again');
  if (o) {
    $('undo').hidden = true;
    $('dispense').hidden = false;
    $('decommission-group').hidden = false;
  }
});

function afterDecommission(status) {
  $('dispense').hidden = true;
  $('decommission-group').hidden = true;
  const irreversible = ['PACK_STATUS_STOLEN', 'PACK_STATUS_DESTROYED'].includes(status);
  $('undo').hidden = irreversible;
  $('undo').focus();
}
