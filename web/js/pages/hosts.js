// SPDX-License-Identifier: MIT
// Hosts: search and filters (group, policy, state, baseline build, CVE, restart required), paged
// by the server; the filters live in the address, so every view is a deep link.

import { api, items, total, allPages } from '../api.js';
import { h, num, href, table, csvButton, card, when, badge, HOST_STATES } from '../ui.js';

const FILTERS = ['q', 'group', 'policy', 'state', 'reason', 'build_id', 'cve', 'restart_required'];

// The filters as the API takes them: "-" (hosts without a policy) is the empty policy name.
function apiFilters(f) {
	return f.policy === '-' ? { ...f, policy: '' } : f;
}
const PER_PAGE = 100;

function filterParams(route) {
	const p = {};
	for (const k of FILTERS) {
		const v = route.params.get(k);
		if (v)
			p[k] = v;
	}
	return p;
}

export const HOST_COLUMNS = [
	{ key: 'hostname', label: 'Host', cell: (r) => h('a', { href: '#/hosts/' + encodeURIComponent(r.host_id) }, r.hostname || r.host_id) },
	{ key: 'state', label: 'State', cell: (r) => [badge(r.state), r.reason ? h('span', { class: 'reason' }, ' ', r.reason) : null] },
	{ key: 'reason', label: 'Reason', csvOnly: true },
	{ key: 'policy', label: 'Policy', cell: (r) => r.policy ?? h('span', { class: 'muted' }, 'none') },
	{ key: 'group', label: 'Group', cell: (r) => r.group ?? h('span', { class: 'muted' }, 'none') },
	{ key: 'last_checkin', label: 'Last check-in', cell: (r) => when(r.last_checkin) },
	{ key: 'agent_version', label: 'Agent' },
	{ key: 'kernel', label: 'Kernel' },
	{ key: 'restart_required', label: 'Restart required', num: true, cell: (r) => (r.restart_required ? num(r.restart_required) : h('span', { class: 'muted' }, '0')) },
	{ key: 'host_id', label: 'Host id', csvOnly: true },
	{ key: 'labels', label: 'Labels', csvOnly: true },
];

export default {
	title: 'Hosts',

	async load(route) {
		const page = Math.max(1, Number(route.params.get('page')) || 1);
		const [list, groups, policies] = await Promise.all([
			api('/hosts', { params: { ...apiFilters(filterParams(route)), page, per_page: PER_PAGE } }),
			api('/groups'),
			api('/policies'),
		]);
		return {
			hosts: items(list), total: total(list), page,
			groups: items(groups).map((g) => g.name).filter(Boolean),
			policies: items(policies).map((p) => p.name).filter(Boolean),
		};
	},

	render(data, route) {
		const f = filterParams(route);
		const go = (params) => { location.hash = href('#/hosts', params); };
		const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id }, label), control);
		const select = (name, options, allLabel) => {
			const opts = options.slice();
			if (f[name] && !opts.some(([v]) => v === f[name]))
				opts.push([f[name], f[name]]);
			return h('select', { id: 'f-' + name, name },
				h('option', { value: '' }, allLabel),
				opts.map(([v, label]) => h('option', { value: v, selected: f[name] === v }, label)));
		};
		const form = h('form', { class: 'filters', id: 'host-filters', role: 'search', 'aria-label': 'Filter hosts' },
			field('f-q', 'Search', h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q || '', placeholder: 'host name or id', autocomplete: 'off' })),
			field('f-state', 'State', select('state', [...HOST_STATES, ['up-to-date,hotpatched', 'On latest (up to date or hotpatched)']], 'Any state')),
			field('f-policy', 'Policy', select('policy', [...data.policies.map((p) => [p, p]), ['-', '(no policy)']], 'Any policy')),
			field('f-group', 'Group', select('group', data.groups.map((g) => [g, g]), 'Any group')),
			field('f-build_id', 'Baseline build id', h('input', { id: 'f-build_id', name: 'build_id', value: f.build_id || '', placeholder: 'hex', autocomplete: 'off', spellcheck: 'false', pattern: '[0-9a-fA-F]*' })),
			field('f-cve', 'Vulnerable to CVE', h('input', { id: 'f-cve', name: 'cve', value: f.cve || '', placeholder: 'CVE-2024-1234', autocomplete: 'off', spellcheck: 'false' })),
			f.reason ? h('input', { type: 'hidden', name: 'reason', value: f.reason }) : null,
			h('div', { class: 'field check' }, h('label', {}, h('input', { type: 'checkbox', name: 'restart_required', value: 'true', checked: f.restart_required === 'true' }), ' Restart required')),
			h('div', { class: 'field buttons' },
				h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
				Object.keys(f).length ? h('a', { href: '#/hosts', class: 'button quiet' }, 'Clear') : null));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			const fd = new FormData(form);
			const p = {};
			for (const k of FILTERS) {
				const v = String(fd.get(k) || '').trim();
				if (v)
					p[k] = k === 'build_id' ? v.toLowerCase() : v;
			}
			go(p);
		});

		const first = data.total ? (data.page - 1) * PER_PAGE + 1 : 0;
		const last = Math.min(data.total, (data.page - 1) * PER_PAGE + data.hosts.length);
		const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
		const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of hosts' },
			h('span', { id: 'host-count', role: 'status' }, data.total ? `${num(first)}–${num(last)} of ${num(data.total)} hosts` : 'No host matches'),
			data.page > 1 ? h('a', { href: href('#/hosts', { ...f, page: data.page - 1 }), rel: 'prev' }, '← Previous') : h('span', { class: 'muted', 'aria-disabled': 'true' }, '← Previous'),
			h('span', {}, `page ${num(data.page)} of ${num(pages)}`),
			data.page < pages ? h('a', { href: href('#/hosts', { ...f, page: data.page + 1 }), rel: 'next' }, 'Next →') : h('span', { class: 'muted', 'aria-disabled': 'true' }, 'Next →'));

		const describe = Object.entries(f).map(([k, v]) => `${k.replace('_', ' ')} ${v === '-' ? '(none)' : v}`).join(', ');
		return h('div', { class: 'page' },
			h('div', { class: 'page-head' }, h('h1', {}, 'Hosts'), describe ? h('p', { class: 'muted', id: 'filter-summary' }, 'Filtered: ' + describe) : null),
			form,
			card('Hosts', [csvButton('hosts', HOST_COLUMNS, (progress) => allPages('/hosts', apiFilters(f), progress))],
				pager,
				table(HOST_COLUMNS, data.hosts, { id: 'hosts', caption: 'Hosts', rowKey: (r) => r.host_id, empty: 'No host matches these filters.' })));
	},
};
