// SPDX-License-Identifier: MIT
// The 90-day trend as inline SVG drawn here: one stacked column per day, one band per host
// state.  No chart library: ~100 lines draw what we need, and the page stays dependency-free.

import { h, s, num, pct } from './ui.js';

export const SERIES = [
	['up_to_date', 'Up to date', 'c-up'],
	['hotpatched', 'Hotpatched', 'c-hot'],
	['in_progress', 'In progress', 'c-prog'],
	['not_up_to_date', 'Not up to date', 'c-not'],
	['not_ready', 'Not ready', 'c-nr'],
	['paused', 'Paused', 'c-paused'],
];

// About the size it is drawn at on a laptop, so the 11px labels stay about 11px.
const W = 1200, H = 280, L = 52, R = 8, T = 10, B = 26;

// A "nice" upper bound for a count axis with four grid steps of 1, 2, 2.5 or 5 times a power of ten.
export function niceMax(v) {
	if (v <= 4)
		return 4;
	const step = v / 4;
	const p = 10 ** Math.floor(Math.log10(step));
	for (const m of [1, 2, 2.5, 5, 10]) {
		if (m * p >= step)
			return 4 * m * p;
	}
	return 40 * p;
}

// days: [{day: 'YYYY-MM-DD', up_to_date: n, ...}] sorted oldest first; mode 'count'|'percent'.
export function trendChart(days, mode, title) {
	const pctMode = mode === 'percent';
	const totals = days.map((d) => SERIES.reduce((a, [k]) => a + (Number(d[k]) || 0), 0));
	const max = pctMode ? 100 : niceMax(Math.max(0, ...totals));
	const pw = W - L - R, ph = H - T - B;
	const slot = pw / Math.max(days.length, 1);
	const bw = Math.max(1, Math.min(slot * 0.8, 40));
	const y = (v) => T + ph - (v / max) * ph;
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc', preserveAspectRatio: 'none' },
		s('title', { id: 'chart-title' }, title),
		s('desc', { id: 'chart-desc' }, days.length
			? `${days.length} days from ${days[0].day} to ${days[days.length - 1].day}; the table below the chart has the numbers.`
			: 'No data yet.'));
	// grid and y labels
	for (let i = 0; i <= 4; i++) {
		const v = (max / 4) * i;
		const yy = y(v);
		svg.append(s('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }),
			s('text', { x: L - 6, y: yy + 4, class: 'axis', 'text-anchor': 'end' }, pctMode ? `${v}%` : num(Math.round(v))));
	}
	days.forEach((d, i) => {
		const x = L + i * slot + (slot - bw) / 2;
		let acc = 0;
		const g = s('g', { class: 'day' });
		const tip = [`${d.day}`];
		for (const [k, label, cls] of SERIES) {
			const raw = Number(d[k]) || 0;
			const v = pctMode ? (totals[i] ? (raw * 100) / totals[i] : 0) : raw;
			tip.push(`${label}: ${num(raw)}${totals[i] ? ` (${pct((raw * 100) / totals[i])})` : ''}`);
			if (v > 0)
				g.append(s('rect', { x, width: bw, y: y(acc + v), height: Math.max(0, y(acc) - y(acc + v)), class: cls }));
			acc += v;
		}
		g.append(s('rect', { x: L + i * slot, width: slot, y: T, height: ph, class: 'hit' }, s('title', {}, tip.join('\n'))));
		svg.append(g);
	});
	// x labels: first, middle, last day
	const idx = [...new Set([0, Math.floor((days.length - 1) / 2), days.length - 1])].filter((i) => i >= 0 && days.length);
	for (const i of idx) {
		svg.append(s('text', { x: L + i * slot + slot / 2, y: H - 8, class: 'axis', 'text-anchor': i === 0 && days.length > 1 ? 'start' : i === days.length - 1 && days.length > 1 ? 'end' : 'middle' }, days[i].day));
	}
	svg.append(s('line', { x1: L, x2: W - R, y1: T + ph, y2: T + ph, class: 'base' }));
	const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
		SERIES.map(([, label, cls]) => h('li', {}, h('span', { class: 'swatch ' + cls }), label)));
	return h('figure', { class: 'trend' }, svg, legend);
}
