// SPDX-License-Identifier: MIT
// The dashboard's pure helpers, without a browser (node --test): CSV quoting and the formula
// guard, hash links, number formats, the chart's axis.  Run by meson as dashboard-js.

import test from 'node:test';
import assert from 'node:assert/strict';
import { csvField, toCsv, href, num, pct, span } from '../../web/js/ui.js';
import { niceMax } from '../../web/js/chart.js';

test('CSV fields are quoted as RFC 4180 says', () => {
	assert.equal(csvField('plain'), 'plain');
	assert.equal(csvField('a,b'), '"a,b"');
	assert.equal(csvField('say "hi"'), '"say ""hi"""');
	assert.equal(csvField('two\nlines'), '"two\nlines"');
	assert.equal(csvField(null), '');
	assert.equal(csvField(undefined), '');
	assert.equal(csvField(12), '12');
	assert.equal(csvField(['CVE-1', 'CVE-2']), 'CVE-1 CVE-2');
	assert.equal(toCsv(['a', 'b'], [[1, 'x,y']]), 'a,b\r\n1,"x,y"\r\n');
});

test('a text a spreadsheet would run as a formula gets an apostrophe; numbers do not', () => {
	for (const f of ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\tx', '=HYPERLINK("http://x","y")'])
		assert.ok(csvField(f).replace(/^"/, '').startsWith("'"), f);
	assert.equal(csvField('-12'), '-12');
	assert.equal(csvField('-1.5'), '-1.5');
	assert.equal(csvField(-3), '-3');
	assert.equal(csvField('a=b'), 'a=b');
});

test('hash links keep only the filters that are set', () => {
	assert.equal(href('#/hosts', { state: 'hotpatched', policy: undefined, q: '' }), '#/hosts?state=hotpatched');
	assert.equal(href('#/hosts', { policy: 'a b&c' }), '#/hosts?policy=a+b%26c');
	assert.equal(href('#/overview', {}), '#/overview');
});

test('numbers, percentages and durations read well', () => {
	assert.equal(num(100000), '100,000');
	assert.equal(num(null), '–');
	assert.equal(pct(16.666), '16.7 %');
	assert.equal(span(59), '59 s');
	assert.equal(span(3600), '1 h 0 min');
	assert.equal(span(90000), '1 d 1 h');
});

test('the chart axis ends on four round steps', () => {
	assert.equal(niceMax(0), 4);
	assert.equal(niceMax(30), 40);
	assert.equal(niceMax(41), 80);
	assert.equal(niceMax(100000), 100000);
	assert.equal(niceMax(100001), 200000);
	for (const v of [1, 7, 33, 999, 12345])
		assert.ok(niceMax(v) >= v && (niceMax(v) / 4) % 1 === 0, String(v));
});
