import { call, get, seg, start, onSubmit, el, showError, alertWords, alertStatusWords, partyName, when, token } from './api.js';

const $ = (id) => document.getElementById(id);
await start();

const codeSel = $('f-code');
for (const [code, words] of Object.entries(alertWords)) codeSel.append(el('option', { value: code, text: words }));

function filters() {
  return { status: $('f-status').value, code: codeSel.value, gtin: $('f-gtin').value.trim(),
    partyGln: $('f-party').value.trim(), pageSize: 100 };
}

function packOf(a) {
  const p = a.epc && a.epc.pack;
  if (p) return el('a', { href: `/ui/pack?gtin=${encodeURIComponent(p.gtin)}&serial=${encodeURIComponent(p.serial)}`, text: `${p.gtin} · ${p.serial}` });
  return document.createTextNode(a.epc && a.epc.sscc ? 'SSCC ' + a.epc.sscc : '');
}

function reviewForm(a) {
  const id = a.alertId;
  const sel = el('select', { id: `r-status-${id}` },
    el('option', { value: 'ALERT_STATUS_INVESTIGATING', text: 'Take it on (investigating)' }),
    el('option', { value: 'ALERT_STATUS_CLOSED_FALSE_POSITIVE', text: 'Close: false positive' }),
    el('option', { value: 'ALERT_STATUS_CLOSED_CONFIRMED_FALSIFICATION', text: 'Close: falsification confirmed' }));
  const comment = el('textarea', { id: `r-comment-${id}`, rows: 2, maxlength: 2000 });
  const form = el('form', { class: 'review', 'data-alert': id, novalidate: true },
    el('label', { for: sel.id, text: 'New status' }), sel,
    el('label', { for: comment.id, text: 'Comment' }), comment,
    el('button', { type: 'submit', text: 'Save review' }));
  onSubmit(form, async () => {
    await call('POST', `/v1/alerts/${seg(id)}:review`, { status: sel.value, comment: comment.value.trim() });
    await load();
  });
  return form;
}

/** What identifies an alert's row as it stands: a review changes it. */
function keyOf(a) { return `${a.alertId} ${a.status} ${(a.reviews || []).length}`; }

async function row(a) {
  const last = (a.reviews || []).at(-1);
  const status = el('td', {}, alertStatusWords[a.status] || a.status);
  if (last) status.append(el('br'), el('small', { text: `by ${await partyName(last.partyGln)}${last.comment ? ': ' + last.comment : ''}` }));
  return el('tr', { 'data-alert': a.alertId, 'data-key': keyOf(a) },
    el('td', {}, el('time', { datetime: a.raisedAt, text: when(a.raisedAt) })),
    el('td', {}, el('strong', { text: alertWords[a.code] || a.code }), el('br'), el('small', { text: a.message })),
    el('td', {}, packOf(a)),
    el('td', { text: await partyName(a.partyGln) }),
    status,
    el('td', {}, a.status.startsWith('ALERT_STATUS_CLOSED') ? '' : reviewForm(a)));
}

let loading = null;
let seen = null; // IDs listed so far; null before the first list
const POLL_MS = 5000;

async function load() {
  const r = await get('/v1/alerts', filters());
  const alerts = r.alerts || [];
  // Rows of alerts that did not change are kept, with whatever a reviewer
  // is typing into them.
  const body = $('alerts').tBodies[0];
  const kept = new Map([...body.rows].map((tr) => [tr.dataset.key, tr]));
  const rows = await Promise.all(alerts.map((a) => kept.get(keyOf(a)) || row(a)));
  body.replaceChildren(...rows);
  $('alerts-empty').hidden = rows.length > 0;
  const fresh = seen ? alerts.filter((a) => !seen.has(a.alertId)) : [];
  seen ??= new Set();
  for (const a of alerts) seen.add(a.alertId);
  if (fresh.length) {
    const a = fresh[0];
    $('live-news').textContent = `New alert: ${alertWords[a.code] || a.code} at ${when(a.raisedAt)}`;
  }
}

/** Lists the alerts again (one listing at a time); the badge says whether the list is live. */
function reload() {
  const badge = $('live');
  loading ??= load().then(() => {
    badge.textContent = 'Live';
    badge.className = 'badge on';
    badge.title = 'Updated ' + new Date().toLocaleTimeString();
  }, (e) => {
    badge.textContent = 'Reconnecting…';
    badge.className = 'badge off';
    showError(e.message);
  }).finally(() => { loading = null; });
  return loading;
}

onSubmit($('alert-filters'), load);
reload();
setInterval(reload, POLL_MS);
watch();

/**
 * Follows the live alert feed (a JSON stream through the gateway) and lists
 * the alerts again as soon as one is raised; the periodic listing covers
 * the time the feed is down.
 */
async function watch() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 60000)) {
    try {
      const resp = await fetch('/v1/alerts:watch', { headers: { Authorization: 'Bearer ' + token(), Accept: 'application/json' },
        cache: 'no-store', credentials: 'omit' });
      if (!resp.ok) throw new Error('HTTP ' + resp.status);
      delay = 1000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line);
          if (msg.error) throw new Error(msg.error.message);
          await reload();
        }
      }
    } catch {
      /* the periodic listing keeps the queue current meanwhile */
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
