// SPDX-License-Identifier: MIT
// One host: inventory, assessment (with the reason behind "not ready"), every process with its
// target build, patch level and state, restart-required units, assignments and history.

import { api, items, total, allPages } from '../api.js';
import { h, num, href, table, csvButton, card, when, badge, buildId, facts, code } from '../ui.js';

const HISTORY_PER_PAGE = 50;

// Processes may come flat (one row per target) or nested ({pid, targets: [...]}); flatten.
function flatProcesses(list) {
	const out = [];
	for (const p of list) {
		if (Array.isArray(p.targets)) {
			if (!p.targets.length)
				out.push({ ...p, targets: undefined });
			for (const t of p.targets)
				out.push({ pid: p.pid, comm: p.comm, exe: p.exe, unit: p.unit, ...t, targets: undefined });
		} else {
			out.push(p);
		}
	}
	return out;
}

const list = (v) => (Array.isArray(v) ? v.join(' ') : v ?? '');

const PROC_COLUMNS = [
	{ key: 'pid', label: 'PID', num: true },
	{ key: 'comm', label: 'Process', cell: (r) => h('span', { title: r.exe || null }, r.comm ?? '–') },
	{ key: 'unit', label: 'Unit' },
	{ key: 'path', label: 'Target', cell: (r) => code(r.path) },
	{ key: 'build_id', label: 'Build id', cell: (r) => buildId(r.build_id) },
	{ key: 'patch_id', label: 'Patch', cell: (r) => r.patch_id ?? h('span', { class: 'muted' }, 'none') },
	{ key: 'level', label: 'Level', num: true },
	{ key: 'state', label: 'State', cell: (r) => badge(r.state) },
	{ key: 'reason', label: 'Reason', cell: (r) => r.reason || '' },
	{ key: 'exe', label: 'Executable', csvOnly: true },
];

const HISTORY_COLUMNS = [
	{ key: 'time', label: 'Time', cell: (r) => when(r.time) },
	{ key: 'kind', label: 'Event', cell: (r) => badge(r.kind) },
	{ key: 'patch_id', label: 'Patch' },
	{ key: 'level', label: 'Level', num: true },
	{ key: 'cves', label: 'CVEs', cell: (r) => list(r.cves), csv: (r) => list(r.cves) },
	{ key: 'pid', label: 'PID', num: true },
	{ key: 'detail', label: 'Detail', cell: (r) => r.detail || '' },
];

export default {
	title: 'Host',

	async load(route) {
		const id = route.id;
		const hp = Math.max(1, Number(route.params.get('hpage')) || 1);
		const [hostData, procs, hist] = await Promise.all([
			api('/hosts/' + encodeURIComponent(id)),
			api('/hosts/' + encodeURIComponent(id) + '/processes'),
			api('/hosts/' + encodeURIComponent(id) + '/history', { params: { page: hp, per_page: HISTORY_PER_PAGE } }),
		]);
		return { host: hostData, processes: flatProcesses(items(procs)), history: items(hist), historyTotal: total(hist), hpage: hp };
	},

	render(data, route, ctx) {
		const x = data.host;
		const id = route.id;
		const base = '#/hosts/' + encodeURIComponent(id);
		const a = x.assessment || {};
		const checks = a.checks || [];
		const inv = x.inventory || {};
		const pick = (k) => x[k] ?? inv[k] ?? x.host?.[k];
		const labels = pick('labels');

		const checkCols = [
			{ key: 'name', label: 'Check', cell: (r) => code(r.name) },
			{ key: 'result', label: 'Result', cell: (r) => badge(r.result) },
			{ key: 'value', label: 'Value' },
			{ key: 'reason', label: 'Reason' },
			{ key: 'remedy', label: 'Remedy' },
		];
		const patchCols = [
			{ key: 'patch_id', label: 'Patch', cell: (r) => h('a', { href: href('#/rollouts', { patch: r.patch_id }) }, r.patch_id) },
			{ key: 'level', label: 'Level', num: true },
			{ key: 'target', label: 'Target' },
			{ key: 'classification', label: 'Class' },
			{ key: 'cves', label: 'CVEs', cell: (r) => (r.cves || []).map((c, i) => [i ? ' ' : '', h('a', { href: '#/cves/' + encodeURIComponent(c) }, c)]), csv: (r) => list(r.cves) },
			{ key: 'state', label: 'State', cell: (r) => [badge(r.state), r.halted_reason ? ' ' + r.halted_reason : ''] },
			{ key: 'build_id', label: 'Build id', csvOnly: true },
		];
		const rrCols = [
			{ key: 'unit', label: 'Unit', cell: (r) => r.unit || h('span', { class: 'muted' }, 'no unit') },
			{ key: 'pid', label: 'PID', num: true },
			{ key: 'reason', label: 'Why' },
		];
		const asgCols = [
			{ key: 'patch_id', label: 'Patch' },
			{ key: 'action', label: 'Action', cell: (r) => badge(r.action) },
			{ key: 'state', label: 'State', cell: (r) => (r.state ? badge(r.state) : '–') },
			{ key: 'ring', label: 'Ring' },
			{ key: 'release_id', label: 'Release', cell: (r) => (r.release_id ?? r.deployment_id) != null ? h('a', { href: '#/rollouts/' + (r.release_id ?? r.deployment_id) }, '#' + (r.release_id ?? r.deployment_id)) : '–', csv: (r) => r.release_id ?? r.deployment_id },
			{ key: 'assigned_at', label: 'Assigned', cell: (r) => (r.assigned_at ? when(r.assigned_at) : '–') },
			{ key: 'updated_at', label: 'Updated', csvOnly: true },
		];
		const hpages = Math.max(1, Math.ceil(data.historyTotal / HISTORY_PER_PAGE));
		const hp = data.hpage;
		const histPager = hpages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages of history' },
			hp > 1 ? h('a', { href: href(base, { hpage: hp - 1 }) }, '← Newer') : h('span', { class: 'muted' }, '← Newer'),
			h('span', {}, `page ${hp} of ${hpages}`),
			hp < hpages ? h('a', { href: href(base, { hpage: hp + 1 }) }, 'Older →') : h('span', { class: 'muted' }, 'Older →')) : null;
		const rr = x.restart_required_units || (Array.isArray(x.restart_required) ? x.restart_required : []);
		const name = pick('hostname') || id;
		const csvName = (what) => `host-${String(name).replace(/[^A-Za-z0-9._-]/g, '_')}-${what}`;

		return h('div', { class: 'page' },
			h('p', { class: 'crumbs' }, h('a', { href: '#/hosts' }, 'Hosts'), ' / '),
			h('div', { class: 'page-head' }, h('h1', {}, name), badge(pick('state')), pick('reason') ? h('span', { class: 'reason' }, pick('reason')) : null),
			h('div', { class: 'two' },
				card('Inventory', null, facts([
					['Host id', code(pick('host_id') || id)],
					['Machine id', code(pick('machine_id'))],
					['Group', pick('group') ? h('a', { href: href('#/hosts', { group: pick('group') }) }, pick('group')) : 'none'],
					['Policy', pick('policy') ? h('a', { href: href('#/hosts', { policy: pick('policy') }) }, pick('policy')) : 'none'],
					['Labels', Array.isArray(labels) && labels.length ? labels.join(', ') : 'none'],
					['Agent', pick('agent_version')],
					['Kernel', [pick('kernel'), pick('arch') ? ' ' + pick('arch') : '']],
					['Last check-in', when(pick('last_checkin'))],
					['Enrolled', pick('enrolled_at') ? when(pick('enrolled_at')) : null],
				].filter(([, v]) => v !== null))),
				card('Assessment', [csvButton(csvName('assessment'), checkCols, async () => checks)],
					h('p', {}, 'Verdict: ', badge(a.verdict || 'unknown'), a.time ? [' · assessed ', when(a.time)] : null),
					table(checkCols, checks, { id: 'checks', caption: 'Assessment checks', empty: 'The host has not sent an assessment yet.' }))),
			card('Processes', [csvButton(csvName('processes'), PROC_COLUMNS, async () => data.processes)],
				table(PROC_COLUMNS, data.processes, { id: 'processes', caption: 'Processes and their targets', rowKey: (r) => `${r.pid}:${r.path}`, empty: 'No process reported.' })),
			h('div', { class: 'two' },
				card('Restart required', [csvButton(csvName('restart-required'), rrCols, async () => rr)],
					table(rrCols, rr, { id: 'restart', caption: 'Units that need a restart', empty: 'No unit needs a restart.' })),
				card('Patches on the host', [csvButton(csvName('patches'), patchCols, async () => x.patches || [])],
					table(patchCols, x.patches || [], { id: 'patches', caption: 'Patches', empty: 'No patch installed.' }))),
			card('Assignments', [csvButton(csvName('assignments'), asgCols, async () => x.assignments || [])],
				table(asgCols, x.assignments || [], { id: 'assignments', caption: 'What the server asks this host to do', empty: 'Nothing assigned.' })),
			card('History', [csvButton(csvName('history'), HISTORY_COLUMNS, (p) => allPages('/hosts/' + encodeURIComponent(id) + '/history', {}, p))],
				histPager,
				table(HISTORY_COLUMNS, data.history, { id: 'history', caption: 'Events, newest first', empty: 'No event yet.' })),
			ctx.can('operator') ? hostActions(x, id, ctx) : null);
	},
};

// Operators set the group and labels of a host (PATCH /hosts/{id}).
function hostActions(x, id, ctx) {
	const group = h('input', { id: 'host-group', name: 'group', value: x.group || '', autocomplete: 'off' });
	const labels = h('input', { id: 'host-labels', name: 'labels', value: (x.labels || []).join(', '), autocomplete: 'off' });
	const msg = h('div', { role: 'status' });
	const form = h('form', { class: 'inline-form', id: 'host-edit' },
		h('div', { class: 'field' }, h('label', { for: 'host-group' }, 'Group'), group),
		h('div', { class: 'field' }, h('label', { for: 'host-labels' }, 'Labels (comma separated)'), labels),
		h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Save')), msg);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			await api('/hosts/' + encodeURIComponent(id), {
				method: 'PATCH',
				body: { group: group.value.trim() || null, labels: labels.value.split(',').map((s) => s.trim()).filter(Boolean) },
			});
			msg.textContent = 'Saved.';
			document.activeElement?.blur();
			ctx.refresh();
		} catch (e) {
			msg.textContent = 'Not saved: ' + e.message;
		}
	});
	return card('Group and labels', null, form);
}

