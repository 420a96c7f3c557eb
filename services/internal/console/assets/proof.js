// Ledger proofs checked in the browser with WebCrypto, self-contained:
// RFC 6962 Merkle hashing (leaf SHA-256(0x00 ‖ data), node
// SHA-256(0x01 ‖ left ‖ right)), inclusion proofs (RFC 9162 §2.1.3.2), and
// C2SP signed notes (golang.org/x/mod/sumdb/note) holding a C2SP
// tlog-checkpoint, signed with Ed25519.

const enc = new TextEncoder();

/** Decodes standard base64 into bytes; throws on anything else. */
export function fromBase64(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new Error('not standard base64');
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Lowercase hex of bytes. */
export function toHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

/** RFC 6962 leaf hash of an entry's bytes. */
export function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** RFC 6962 interior node hash. */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * Returns the root that an inclusion proof of the leaf at index in a tree of
 * size entries leads to (RFC 9162 §2.1.3.2); throws when the proof cannot be
 * one for that index and size.
 */
export async function rootFromInclusion(index, size, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) throw new Error(`index ${index} is outside a tree of ${size}`);
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new Error('a proof hash is not 32 bytes');
    if (sn === 0n) throw new Error('the proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the proof is too short');
  return r;
}

/** Reports whether proof shows leaf at index in the tree of size with root. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  try {
    return equal(await rootFromInclusion(index, size, leaf, proof), root);
  } catch {
    return false;
  }
}

/**
 * Parses a note verifier key "name+hash+base64(0x01 ‖ key)" and checks its
 * hash: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key).
 */
export async function parseVerifierKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(String(vkey));
  if (!m) throw new Error('malformed verifier key');
  const [, name, hash16, key64] = m;
  const key = fromBase64(key64);
  if (key.length !== 33 || key[0] !== 1) throw new Error('not an Ed25519 verifier key');
  const sum = await sha256(concat(enc.encode(name + '\n'), key));
  if (toHex(sum.subarray(0, 4)) !== hash16) throw new Error('verifier key hash does not match');
  return { name, id: sum.subarray(0, 4), key: key.subarray(1) };
}

/**
 * Verifies a signed note with the verifier key: the note's text is signed
 * with Ed25519 by the key's owner (other signatures, such as witnesses'
 * cosignatures, are ignored). Returns the text; throws when no signature
 * of that key verifies.
 */
export async function verifyNote(note, vkey) {
  const v = await parseVerifierKey(vkey);
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('malformed note');
  const text = note.slice(0, split + 1);
  const pub = await crypto.subtle.importKey('raw', v.key, { name: 'Ed25519' }, false, ['verify']);
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new Error('malformed signature line');
    if (m[1] !== v.name) continue;
    const sig = fromBase64(m[2]);
    if (sig.length !== 4 + 64 || !equal(sig.subarray(0, 4), v.id)) continue;
    if (await crypto.subtle.verify('Ed25519', pub, sig.subarray(4), enc.encode(text))) return text;
    throw new Error('the checkpoint signature does not verify');
  }
  throw new Error('the checkpoint carries no signature of the ledger key');
}

/**
 * Verifies a signed checkpoint note and parses its body (origin, size,
 * root hash); returns {origin, size (BigInt), root}.
 */
export async function verifyCheckpoint(note, vkey) {
  const lines = (await verifyNote(note, vkey)).split('\n');
  if (lines.length < 4 || lines[0] === '' || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new Error('malformed checkpoint');
  }
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error('malformed checkpoint root');
  return { origin: lines[0], size: BigInt(lines[1]), root };
}

/**
 * Verifies entries against a checkpoint: each {index, data | leafHash,
 * proof} (base64 strings as the REST API sends them) must be included in
 * the signed checkpoint. Returns {checkpoint, results: [bool…]}; throws
 * when the checkpoint itself does not verify.
 */
export async function verifyEntries(checkpoint, entries) {
  const cp = await verifyCheckpoint(checkpoint.note, checkpoint.verifierKey);
  const results = [];
  for (const e of entries) {
    try {
      const leaf = e.data !== undefined ? await leafHash(fromBase64(e.data)) : fromBase64(e.leafHash);
      const proof = (e.proof || []).map(fromBase64);
      results.push(BigInt(e.index) < cp.size && await verifyInclusion(e.index, cp.size, leaf, proof, cp.root));
    } catch {
      results.push(false);
    }
  }
  return { checkpoint: cp, results };
}
