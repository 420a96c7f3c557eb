// The console's session and its calls to the node's REST API. The API
// token lives in this tab's sessionStorage and travels only in the
// Authorization header of /v1/ requests.

const TOKEN = 'pedigree.token';
const PARTY = 'pedigree.party';

/** The signed-in token, or null. */
export function token() { return sessionStorage.getItem(TOKEN); }

/** An error answer of the API: HTTP status and the API's message. */
export class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Calls the REST API; resolves to the decoded JSON answer. */
export async function call(method, path, body, signal) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method, headers, signal, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { message: text }; }
  if (!resp.ok) {
    if (resp.status === 401 && t) forget();
    throw new APIError(resp.status, data.message || resp.statusText || 'request failed', data);
  }
  return data;
}

/** GET path with the query parameters of params that are not empty. */
export function get(path, params, signal) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.append(k, v);
  }
  const s = q.toString();
  return call('GET', s ? path + '?' + s : path, undefined, signal);
}

/** Path segment escaping for GTINs, lots, serials. */
export const seg = (s) => encodeURIComponent(s);

function forget() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(PARTY);
}

/**
 * Signs in with t: finds the token's party (its own token list names it)
 * and keeps both for this tab. Throws the API's refusal.
 */
export async function signIn(t) {
  sessionStorage.setItem(TOKEN, t);
  sessionStorage.removeItem(PARTY);
  try {
    return await me();
  } catch (e) {
    forget();
    throw e;
  }
}

/** Signs out: the token is forgotten. */
export function signOut() { sessionStorage.clear(); }

/** The signed-in party {gln, name, role}. */
export async function me() {
  const kept = sessionStorage.getItem(PARTY);
  if (kept) return JSON.parse(kept);
  const list = await get('/v1/tokens', { pageSize: 1 });
  const gln = list.tokens && list.tokens[0] && list.tokens[0].partyGln;
  if (!gln) throw new Error('this token names no party');
  const p = (await call('GET', '/v1/parties/' + seg(gln))).party;
  const party = { gln: p.gln, name: p.name, role: p.role };
  sessionStorage.setItem(PARTY, JSON.stringify(party));
  return party;
}

const names = new Map();

/** A party's display name, "name (GLN)", or the GLN when it cannot be read. */
export async function partyName(gln) {
  if (!gln) return '';
  if (!names.has(gln)) {
    names.set(gln, call('GET', '/v1/parties/' + seg(gln))
      .then((r) => `${r.party.name} (${gln})`, () => gln));
  }
  return names.get(gln);
}

/** Words for the enums the screens show. */
export const roleWords = {
  ROLE_MANUFACTURER: 'Manufacturer', ROLE_WHOLESALER: 'Wholesaler', ROLE_PHARMACY: 'Pharmacy',
  ROLE_HOSPITAL_PHARMACY: 'Hospital pharmacy', ROLE_DISPENSING_DOCTOR: 'Dispensing doctor',
  ROLE_PARALLEL_IMPORTER: 'Parallel importer', ROLE_REGULATOR: 'Regulator', ROLE_ADMIN: 'Administrator',
};

export const statusWords = {
  PACK_STATUS_UNSPECIFIED: 'unknown', PACK_STATUS_ACTIVE: 'active', PACK_STATUS_SUPPLIED: 'dispensed',
  PACK_STATUS_EXPORTED: 'exported', PACK_STATUS_CHECKED_OUT: 'checked out', PACK_STATUS_SAMPLE: 'sample',
  PACK_STATUS_FREE_SAMPLE: 'free sample', PACK_STATUS_LOCKED: 'locked', PACK_STATUS_DESTROYED: 'destroyed',
  PACK_STATUS_STOLEN: 'stolen', PACK_STATUS_RECALLED: 'recalled', PACK_STATUS_WITHDRAWN: 'withdrawn',
  PACK_STATUS_EXPIRED: 'expired',
};

export const alertWords = {
  ALERT_CODE_UNKNOWN_PRODUCT: 'Unknown product', ALERT_CODE_UNKNOWN_BATCH: 'Unknown batch',
  ALERT_CODE_UNKNOWN_SERIAL: 'Unknown serial', ALERT_CODE_BATCH_MISMATCH: 'Batch does not match',
  ALERT_CODE_EXPIRY_MISMATCH: 'Expiry does not match', ALERT_CODE_ALREADY_INACTIVE: 'Pack already inactive',
  ALERT_CODE_CLONE_SUSPECTED: 'Clone suspected', ALERT_CODE_CUSTODY_MISMATCH: 'Custody mismatch',
  ALERT_CODE_INVALID_TRANSITION: 'Step not allowed now', ALERT_CODE_AGGREGATION_CONFLICT: 'Packing conflict',
  ALERT_CODE_UNDO_NOT_ALLOWED: 'Undo not allowed', ALERT_CODE_UNAUTHORIZED_STEP: 'Step not allowed for role',
};

export const alertStatusWords = {
  ALERT_STATUS_OPEN: 'Open', ALERT_STATUS_INVESTIGATING: 'Investigating',
  ALERT_STATUS_CLOSED_FALSE_POSITIVE: 'Closed: false positive',
  ALERT_STATUS_CLOSED_CONFIRMED_FALSIFICATION: 'Closed: falsification confirmed',
};

/** Creates an element with text or children. */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** Fills a <dl> with [term, value] pairs. */
export function fillDL(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(el('dt', { text: k }), el('dd', { text: String(v) }));
  }
}

/** Shows (or clears, with '') the page's error line. */
export function showError(msg) {
  const p = document.getElementById('page-error');
  p.textContent = msg;
  p.hidden = !msg;
}

/** A readable time of an RFC 3339 timestamp. */
export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d) ? ts : d.toLocaleString();
}

/**
 * Starts a page: a page that needs a session sends a signed-out visitor to
 * the sign-in page; the header shows the party and the sign-out button.
 * Resolves to the party, or null on a page that does not need one.
 */
export async function start(needsSession = true) {
  const who = document.getElementById('who');
  const out = document.getElementById('signout');
  out.addEventListener('click', () => { signOut(); location.assign('/ui/signin'); });
  if (!token()) {
    if (needsSession) location.assign('/ui/signin?next=' + encodeURIComponent(location.pathname + location.search));
    return null;
  }
  try {
    const p = await me();
    who.textContent = `${p.name} · ${roleWords[p.role] || p.role}`;
    out.hidden = false;
    return p;
  } catch (e) {
    showError('Could not read who you are: ' + e.message);
    if (e.status === 401) location.assign('/ui/signin');
    return null;
  }
}

/** Runs an async handler on a form's submit, reporting failures. */
export function onSubmit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    try {
      await fn(ev);
    } catch (e) {
      showError(e.message);
    }
  });
}
