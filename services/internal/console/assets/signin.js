import { signIn, start, onSubmit, roleWords } from './api.js';

await start(false);
const form = document.getElementById('signin-form');
const status = document.getElementById('signin-status');
document.getElementById('token').focus();
onSubmit(form, async () => {
  const t = document.getElementById('token').value.trim();
  if (!t.startsWith('pdg_')) throw new Error('An API token starts with pdg_.');
  status.textContent = 'Signing in…';
  let p;
  try {
    p = await signIn(t);
  } catch (e) {
    status.textContent = '';
    throw new Error(e.status === 401 ? 'This token is not valid (unknown, revoked or expired).' : e.message);
  }
  status.textContent = `Signed in as ${p.name} (${roleWords[p.role] || p.role}).`;
  const next = new URLSearchParams(location.search).get('next');
  location.assign(next && next.startsWith('/ui/') && !next.startsWith('/ui//') ? next : home(p.role));
});

function home(role) {
  switch (role) {
    case 'ROLE_PHARMACY': case 'ROLE_HOSPITAL_PHARMACY': case 'ROLE_DISPENSING_DOCTOR': return '/ui/counter';
    case 'ROLE_MANUFACTURER': case 'ROLE_PARALLEL_IMPORTER': return '/ui/manufacturer';
    case 'ROLE_REGULATOR': case 'ROLE_ADMIN': return '/ui/alerts';
    default: return '/ui/';
  }
}
