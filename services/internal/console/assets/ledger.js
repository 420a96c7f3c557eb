import { call, get, start, onSubmit, fillDL, showError, token } from './api.js';
import { verifyCheckpoint, verifyEntries, toHex, fromBase64 } from './proof.js';

const $ = (id) => document.getElementById(id);
await start(false);

let cp;
try {
  cp = await call('GET', '/v1/ledger/checkpoint');
} catch (e) {
  showError('The checkpoint could not be read: ' + e.message);
  throw e;
}
$('note').textContent = cp.note;
const status = $('proof-status');
let checked = null;
try {
  checked = await verifyCheckpoint(cp.note, cp.verifierKey);
  const agrees = String(checked.size) === String(cp.size) && toHex(checked.root) === toHex(fromBase64(cp.rootHash));
  if (!agrees) throw new Error('the answer\'s size or root differs from the signed note');
  status.className = 'proof ok';
  status.textContent = '✓ Checkpoint signature verified in this browser.';
} catch (e) {
  status.className = 'proof stop';
  status.textContent = '✗ Proof FAILED: ' + e.message;
}
fillDL($('checkpoint'), [['Origin', checked ? checked.origin : ''], ['Entries', cp.size],
  ['Root hash', toHex(fromBase64(cp.rootHash))], ['Verifier key', cp.verifierKey]]);

onSubmit($('entry-form'), async () => {
  const out = $('entry-status');
  const index = $('e-index').value.trim();
  if (!/^[0-9]+$/.test(index)) throw new Error('Entry number: digits only.');
  const pr = await get('/v1/ledger/proofs/inclusion', { index, treeSize: cp.size });
  const e = { index, leafHash: pr.leafHash, proof: pr.hashes };
  let from = 'the leaf hash the node gave';
  if (token()) {
    try {
      e.data = (await call('GET', '/v1/ledger/entries/' + index)).data;
      from = 'the entry\'s bytes, hashed here';
    } catch { /* not readable by this party: prove the given leaf hash */ }
  }
  const { results } = await verifyEntries(cp, [e]);
  out.className = 'proof ' + (results[0] ? 'ok' : 'stop');
  out.textContent = results[0]
    ? `✓ Proofs verified in this browser: entry ${index} (from ${from}) is in the checkpoint of ${cp.size} entries.`
    : `✗ Proof FAILED for entry ${index}.`;
});
