// SPDX-License-Identifier: MIT
// CVEs: per CVE, the patch that fixes it and how many hosts and processes still run the
// vulnerable code; one CVE lists those hosts and processes.

import { api, items, total, allPages } from '../api.js';
import { h, num, href, table, csvButton, card, buildId, code, badge } from '../ui.js';

const PER_PAGE = 100;
const arr = (v) => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);
const fixes = (r) => arr(r.patch_id ?? r.patch_ids ?? r.patches ?? r.fixed_by);
const nHosts = (r) => r.hosts ?? r.vulnerable_hosts ?? r.host_count ?? 0;
const nProcs = (r) => r.processes ?? r.vulnerable_processes ?? r.process_count ?? 0;

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
			const summary = items(all).find((r) => r.cve === route.id) || null;
			return { one: route.id, rows: items(rows), total: total(rows), page, summary };
		}
		return { cves: items(await api('/reports/cves')) };
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
				{ key: 'state', label: 'State', cell: (r) => (r.state ? badge(r.state) : '–') },
				{ key: 'patch_id', label: 'Fixed by', cell: patchLinks, csv: (r) => fixes(r).join(' ') },
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
					table(cols, data.rows, { id: 'cve-rows', caption: `Processes vulnerable to ${id}`, rowKey: (r) => `${r.host_id}:${r.pid}:${r.path}`, empty: 'Nothing runs code vulnerable to this CVE.' })));
		}
		const cols = [
			{ key: 'cve', label: 'CVE', cell: (r) => h('a', { href: '#/cves/' + encodeURIComponent(r.cve) }, r.cve) },
			{ key: 'patch_id', label: 'Fixed by', cell: patchLinks, csv: (r) => fixes(r).join(' ') },
			{ key: 'hosts', label: 'Vulnerable hosts', num: true, cell: (r) => h('a', { href: href('#/hosts', { cve: r.cve }), dataset: { cell: 'hosts' } }, num(nHosts(r))), csv: nHosts },
			{ key: 'processes', label: 'Vulnerable processes', num: true, cell: (r) => h('a', { href: '#/cves/' + encodeURIComponent(r.cve) }, num(nProcs(r))), csv: nProcs },
		];
		const rows = data.cves.slice().sort((a, b) => nHosts(b) - nHosts(a) || String(a.cve).localeCompare(String(b.cve)));
		return h('div', { class: 'page' },
			h('div', { class: 'page-head' }, h('h1', {}, 'CVEs')),
			card('CVEs fixed by imported patches', [csvButton('cves', cols, async () => rows)],
				table(cols, rows, { id: 'cves', caption: 'CVEs', rowKey: (r) => r.cve, empty: 'No imported patch names a CVE.' })));
	},
};
