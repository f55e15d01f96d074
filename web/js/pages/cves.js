// SPDX-License-Identifier: MIT
// CVEs: per CVE, the patch that fixes it and how many hosts and processes still run the
// vulnerable code; one CVE lists those hosts and processes.

import { api, items, total, allPages } from '../api.js';
import { h, num, href, table, csvButton, card, buildId, code, badge } from '../ui.js';

const PER_PAGE = 100;
const arr = (v) => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);
const fixes = (r) => arr(r.patches ?? r.patch_id ?? r.fixed_by).map((p) => (typeof p === 'object' ? p.patch_id : p));
const nHosts = (r) => r.hosts_vulnerable ?? r.hosts ?? 0;
const nProcs = (r) => r.processes_vulnerable ?? r.processes ?? 0;

// The server may answer one row per (CVE, fixing patch); the page shows one row per CVE with
// every patch that fixes it.  With several rows, the largest count stands for the CVE (the
// hosts behind a higher level include those behind a lower one); a per-CVE row from the
// server, when it sends one, is taken as it is.
function byCve(rows) {
	const m = new Map();
	for (const r of rows) {
		const o = m.get(r.cve);
		if (!o) {
			m.set(r.cve, { ...r, patches: fixes(r), levels: [r.level] });
			continue;
		}
		o.patches = [...new Set([...o.patches, ...fixes(r)])];
		o.levels.push(r.level);
		o.hosts_vulnerable = Math.max(nHosts(o), nHosts(r));
		o.processes_vulnerable = Math.max(nProcs(o), nProcs(r));
		o.hosts_patched = Math.max(o.hosts_patched ?? 0, r.hosts_patched ?? 0);
		if (r.classification === 'critical')
			o.classification = 'critical';
	}
	return [...m.values()];
}

const patchLinks = (r) => {
	const p = fixes(r);
	return p.length ? p.map((x, i) => [i ? ', ' : '', h('a', { href: href('#/rollouts', { patch: x }) }, x)]) : h('span', { class: 'muted' }, 'no patch yet');
};

export default {
	title: 'CVEs',

	async load(route) {
		if (route.id) {
			const page = Math.max(1, Number(route.params.get('page')) || 1);
			const [rows, all] = await Promise.all([
				api('/reports/cves/' + encodeURIComponent(route.id), { params: { page, per_page: PER_PAGE } }),
				api('/reports/cves'),
			]);
			const summary = byCve(items(all)).find((r) => r.cve === route.id) || null;
			return { one: route.id, rows: items(rows), total: total(rows), page, summary };
		}
		return { cves: byCve(items(await api('/reports/cves'))) };
	},

	render(data, route) {
		if (data.one) {
			const id = data.one;
			const cols = [
				{ key: 'hostname', label: 'Host', cell: (r) => h('a', { href: '#/hosts/' + encodeURIComponent(r.host_id) }, r.hostname || r.host_id) },
				{ key: 'pid', label: 'PID', num: true },
				{ key: 'comm', label: 'Process' },
				{ key: 'unit', label: 'Unit' },
				{ key: 'path', label: 'Vulnerable code', cell: (r) => code(r.path ?? r.target) },
				{ key: 'build_id', label: 'Build id', cell: (r) => buildId(r.build_id) },
				{ key: 'running_patch', label: 'Running', cell: (r) => (r.running_patch ? `${r.running_patch} (level ${r.running_level ?? 0})` : h('span', { class: 'muted' }, 'unpatched')) },
				{ key: 'state', label: 'State', cell: (r) => (r.state ? [badge(r.state), r.reason ? h('span', { class: 'reason' }, ' ' + r.reason) : null] : '–') },
				{ key: 'fixed_by', label: 'Fixed by', cell: (r) => h('a', { href: href('#/rollouts', { patch: r.fixed_by }) }, `${r.fixed_by} (level ${r.fixed_level})`), csv: (r) => r.fixed_by },
				{ key: 'fixed_level', label: 'Fixed level', csvOnly: true },
				{ key: 'running_level', label: 'Running level', csvOnly: true },
				{ key: 'reason', label: 'Reason', csvOnly: true },
				{ key: 'exe', label: 'Executable', csvOnly: true },
				{ key: 'host_id', label: 'Host id', csvOnly: true },
			];
			const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
			const base = '#/cves/' + encodeURIComponent(id);
			return h('div', { class: 'page' },
				h('p', { class: 'crumbs' }, h('a', { href: '#/cves' }, 'CVEs'), ' / '),
				h('div', { class: 'page-head' }, h('h1', {}, id),
					data.summary ? h('p', {}, 'Fixed by ', patchLinks(data.summary), ` · ${num(nHosts(data.summary))} hosts, ${num(nProcs(data.summary))} processes still vulnerable · `,
						h('a', { href: href('#/hosts', { cve: id }) }, 'these hosts in the host list')) : null),
				card('Still vulnerable', [csvButton(`cve-${id.replace(/[^A-Za-z0-9._-]/g, '_')}`, cols, (p) => allPages('/reports/cves/' + encodeURIComponent(id), {}, p))],
					h('nav', { class: 'pager', 'aria-label': 'Pages' },
						h('span', { role: 'status' }, data.total ? `${num(data.total)} processes` : 'No process runs the vulnerable code.'),
						data.page > 1 ? h('a', { href: href(base, { page: data.page - 1 }) }, '← Previous') : null,
						pages > 1 ? h('span', {}, `page ${data.page} of ${pages}`) : null,
						data.page < pages ? h('a', { href: href(base, { page: data.page + 1 }) }, 'Next →') : null),
					table(cols, data.rows, { id: 'cve-rows', caption: `Processes vulnerable to ${id}`, rowKey: (r) => `${r.host_id}:${r.pid}:${r.path}:${r.fixed_by}`, empty: 'Nothing runs code vulnerable to this CVE.' })));
		}
		const cols = [
			{ key: 'cve', label: 'CVE', cell: (r) => h('a', { href: '#/cves/' + encodeURIComponent(r.cve) }, r.cve) },
			{ key: 'patches', label: 'Fixed by', cell: patchLinks, csv: (r) => fixes(r).join(' ') },
			{ key: 'classification', label: 'Class', cell: (r) => r.classification ?? '–' },
			{ key: 'package', label: 'Package', cell: (r) => r.package || '–' },
			{ key: 'hosts_patched', label: 'Hosts patched', num: true, cell: (r) => num(r.hosts_patched ?? 0) },
			{ key: 'hosts_vulnerable', label: 'Vulnerable hosts', num: true, cell: (r) => h('a', { href: href('#/hosts', { cve: r.cve }), dataset: { cell: 'hosts' } }, num(nHosts(r))), csv: nHosts },
			{ key: 'processes_vulnerable', label: 'Vulnerable processes', num: true, cell: (r) => h('a', { href: '#/cves/' + encodeURIComponent(r.cve) }, num(nProcs(r))), csv: nProcs },
		];
		const rows = data.cves.slice().sort((a, b) => nHosts(b) - nHosts(a) || String(a.cve).localeCompare(String(b.cve)));
		return h('div', { class: 'page' },
			h('div', { class: 'page-head' }, h('h1', {}, 'CVEs')),
			card('CVEs fixed by imported patches', [csvButton('cves', cols, async () => rows)],
				table(cols, rows, { id: 'cves', caption: 'CVEs', rowKey: (r) => r.cve, empty: 'No imported patch names a CVE.' })));
	},
};
