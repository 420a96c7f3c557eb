import { start, roleWords } from './api.js';

const p = await start();
if (p) document.getElementById('home-party').textContent = `${p.name} (${roleWords[p.role] || p.role}, GLN ${p.gln})`;
