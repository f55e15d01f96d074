// SPDX-License-Identifier: MIT
// Overview: the per-policy report (Windows' columns plus restart required), by count or
// percentage, every number a link to the hosts behind it; and the 90-day trend.
// All numbers are aggregated by the server (/reports/policies, /reports/trend): the page never
// sums hosts, so it costs the same with 10 or 100,000 of them.

import { api, items } from '../api.js';
import { h, num, pct, href, table, csvButton, card } from '../ui.js';
import { trendChart, SERIES } from '../chart.js';

// Report columns: key in the report row, label, the /hosts filter behind the number.
const COLS = [
	['devices', 'Devices', {}],
	['up_to_date', 'Up to date', { state: 'up-to-date' }],
	['hotpatched', 'Hotpatched', { state: 'hotpatched' }],
	['not_up_to_date', 'Not up to date', { state: 'not-up-to-date' }],
	['in_progress', 'In progress', { state: 'in-progress' }],
	['not_ready', 'Not ready', { state: 'not-ready' }],
	['paused', 'Paused', { state: 'paused' }],
	['restart_required', 'Restart required', { restart_required: 'true' }],
];

// The hosts filter value of a report row's policy: hosts without a policy are "-".
export function policyParam(p) {
	return p === null || p === undefined || p === '' ? '-' : p;
}

function policyName(p) {
	return p === null || p === undefined || p === '' ? '(no policy)' : p;
}

// not_ready_reasons may be {"reason": n} or [{reason, count}].
function reasons(r) {
	const v = r?.not_ready_reasons;
	if (!v)
		return [];
	if (Array.isArray(v))
		return v.map((x) => (typeof x === 'string' ? [x, null] : [x.reason ?? x.name, x.count ?? x.hosts ?? null]));
	return Object.entries(v);
}

function onLatest(r) {
	if (typeof r.percent_on_latest === 'number')
		return r.percent_on_latest;
	return r.devices ? ((Number(r.up_to_date) + Number(r.hotpatched)) * 100) / r.devices : 0;
}

export default {
	title: 'Overview',

	async load(route) {
		const policy = route.params.get('trend') || undefined;
		const [report, trend] = await Promise.all([
			api('/reports/policies'),
			api('/reports/trend', { params: { days: 90, policy } }),
		]);
		return { report: items(report), total: report && typeof report.total === 'object' ? report.total : null, trend: items(trend) };
	},

	render(data, route) {
		const mode = route.params.get('mode') === 'percent' ? 'percent' : 'count';
		const trendPolicy = route.params.get('trend') || '';
		const rows = data.report;
		// The "all policies" row: the server's total when it sends one, else the sum of the
		// policy rows (a handful of numbers, not hosts).
		const sum = { ...(data.total || {}), policy: '__all' };
		if (!data.total) {
			for (const [k] of COLS)
				sum[k] = rows.reduce((a, r) => a + (Number(r[k]) || 0), 0);
			sum.percent_on_latest = sum.devices ? ((sum.up_to_date + sum.hotpatched) * 100) / sum.devices : 0;
		}

		// A report number as a link to exactly the hosts it counts.
		const cell = (r, k, filter) => {
			const params = { ...filter };
			if (r.policy !== '__all')
				params.policy = policyParam(r.policy);
			const n = Number(r[k]) || 0;
			const text = mode === 'percent' && k !== 'devices' ? pct(r.devices ? (n * 100) / r.devices : 0) : num(n);
			const what = COLS.find((c) => c[0] === k)[1].toLowerCase();
			return h('a', {
				href: href('#/hosts', params), class: n ? null : 'zero',
				title: k === 'restart_required' && r.restart_required_units !== undefined ? `${num(r.restart_required_units)} units to restart` : null,
				'aria-label': `${num(n)} ${what} hosts${r.policy === '__all' ? '' : ' of policy ' + policyName(r.policy)}`,
				dataset: { cell: k },
			}, text);
		};
		const columns = [
			{ key: 'policy', label: 'Policy', cell: (r) => (r.policy === '__all' ? 'All policies' : policyName(r.policy)), csv: (r) => r.policy ?? '' },
			...COLS.map(([k, label, filter]) => ({ key: k, label, num: true, cell: (r) => cell(r, k, filter) })),
			{
				key: 'percent_on_latest', label: '% on latest', num: true,
				cell: (r) => h('a', {
					href: href('#/hosts', { state: 'up-to-date,hotpatched', policy: r.policy === '__all' ? undefined : policyParam(r.policy) }),
					dataset: { cell: 'percent_on_latest' },
					'aria-label': `${pct(onLatest(r))} on the latest level${r.policy === '__all' ? '' : ' in policy ' + policyName(r.policy)}`,
				}, pct(onLatest(r))),
				csv: (r) => onLatest(r).toFixed(1),
			},
			{ key: 'restart_required_units', label: 'Restart required units', csvOnly: true },
			{ key: 'not_ready_reasons', label: 'Not ready reasons', csvOnly: true, csv: (r) => reasons(r).map(([k, n]) => `${k}${n === null ? '' : ': ' + n}`).join('; ') },
		];
		const foot = h('tfoot', {}, h('tr', { dataset: { key: '__all' } },
			columns.filter((c) => !c.csvOnly).map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c.cell(sum)) : h('td', { class: 'num' }, c.cell(sum))))));

		const modeSwitch = h('fieldset', { class: 'segmented' },
			h('legend', { class: 'visually-hidden' }, 'Show numbers as'),
			[['count', 'Count'], ['percent', 'Percentage']].map(([v, label]) => h('label', {},
				h('input', {
					type: 'radio', name: 'mode', value: v, id: 'mode-' + v, checked: mode === v,
					onchange: () => { location.hash = href('#/overview', { mode: v === 'count' ? undefined : v, trend: trendPolicy || undefined }); },
				}), ' ', label)));

		const reportTable = table(columns, rows, {
			id: 'report', caption: 'Per-policy report', rowKey: (r) => 'p:' + policyParam(r.policy), footer: rows.length ? foot : null,
			empty: 'No policies and no hosts yet. Enroll a host (hotpatchd) and assign a policy to its group.',
		});

		const why = rows.filter((r) => reasons(r).length);
		const reasonsCard = why.length ? card('Why hosts are not ready', null,
			h('ul', { class: 'reasons' }, why.map((r) => h('li', {},
				h('a', { href: href('#/hosts', { policy: policyParam(r.policy), state: 'not-ready' }) }, policyName(r.policy)), ': ',
				reasons(r).map(([k, n], i) => [i ? '; ' : '',
					h('a', { href: href('#/hosts', { policy: policyParam(r.policy), state: 'not-ready', reason: k }), class: 'reason' }, k),
					n === null ? '' : ` (${num(n)})`]))))) : null;

		// Trend: one point per day; several policies' rows of a day are added up (a few hundred
		// numbers at most, already aggregated by the server).
		const byDay = new Map();
		for (const r of data.trend) {
			const day = r.day ?? r.date;
			if (!day)
				continue;
			const d = byDay.get(day) || { day };
			for (const [k] of [...SERIES, ['devices'], ['restart_required']])
				d[k] = (d[k] || 0) + (Number(r[k]) || 0);
			byDay.set(day, d);
		}
		const days = [...byDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
		const policies = [...new Set(rows.map((r) => r.policy).filter((p) => p))];
		const trendSelect = h('select', {
			id: 'trend-policy',
			onchange: (ev) => { location.hash = href('#/overview', { mode: mode === 'count' ? undefined : mode, trend: ev.target.value || undefined }); },
		}, h('option', { value: '' }, 'All policies'), policies.map((p) => h('option', { value: p, selected: p === trendPolicy }, p)));
		const trendCols = [
			{ key: 'day', label: 'Day' },
			{ key: 'devices', label: 'Devices', num: true, cell: (d) => num(d.devices) },
			...SERIES.map(([k, label]) => ({ key: k, label, num: true, cell: (d) => num(d[k]) })),
			{ key: 'restart_required', label: 'Restart required', num: true, cell: (d) => num(d.restart_required) },
		];
		const trendCard = card('Last 90 days', [
			h('label', { for: 'trend-policy' }, 'Policy '), trendSelect,
			csvButton('trend', trendCols, async () => days),
		],
		days.length ? trendChart(days, mode, `Hosts by state per day, ${trendPolicy || 'all policies'}, ${mode === 'percent' ? 'percentage' : 'count'}`)
			: h('p', { class: 'empty chart-empty' }, 'No daily snapshot yet: the server records one per day.'),
		h('details', {}, h('summary', {}, 'The numbers as a table'), table(trendCols, days.slice().reverse(), { caption: 'Trend per day' })));

		return h('div', { class: 'page' },
			h('div', { class: 'page-head' }, h('h1', {}, 'Overview'), modeSwitch),
			card('Hosts by policy', [csvButton('policy-report', columns, async () => [...rows, ...(rows.length ? [{ ...sum, policy: 'ALL' }] : [])])], reportTable),
			reasonsCard,
			trendCard);
	},
};
