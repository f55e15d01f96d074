// SPDX-License-Identifier: MIT
// Rollouts: every release with its rings, bake timers and failure signals; operators promote,
// halt and resume; a halted release shows its evidence (hosts, processes, crashes, reverts).

import { api, items } from '../api.js';
import { h, num, href, table, csvButton, card, when, badge, confirmDialog, announce, errorBox, span, code } from '../ui.js';

const EVIDENCE_ORDER = ['time', 'hostname', 'host_id', 'pid', 'comm', 'kind', 'patch_id', 'detail', 'reverted'];

function evidenceColumns(rows) {
	const keys = new Set();
	for (const r of rows) {
		for (const k of Object.keys(r || {}))
			keys.add(k);
	}
	const ordered = [...EVIDENCE_ORDER.filter((k) => keys.has(k)), ...[...keys].filter((k) => !EVIDENCE_ORDER.includes(k)).sort()];
	return ordered.map((k) => {
		const c = { key: k, label: k.replace(/_/g, ' ').replace(/^./, (m) => m.toUpperCase()) };
		if (k === 'time')
			c.cell = (r) => when(r.time);
		else if (k === 'hostname')
			c.cell = (r) => (r.host_id ? h('a', { href: '#/hosts/' + encodeURIComponent(r.host_id) }, r.hostname || r.host_id) : r.hostname);
		else if (k === 'host_id')
			c.cell = (r) => code(r.host_id);
		else if (k === 'kind')
			c.cell = (r) => badge(r.kind);
		else if (k === 'reverted')
			c.cell = (r) => (r.reverted === true ? 'yes' : r.reverted === false ? 'no' : String(r.reverted ?? '–'));
		else
			c.cell = (r) => (r[k] !== null && typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k]);
		return c;
	});
}

// When the bake time of the active ring ends, in this browser's clock: from the server's
// bake_remaining (no clock skew) or else started_at + bake_seconds.  Whole seconds, so two
// polls a few seconds apart give the same data and nothing is redrawn.
function bakeEnd(ring) {
	if (typeof ring.bake_remaining === 'number')
		return Math.round(Date.now() / 1000 + ring.bake_remaining) * 1000;
	const started = Date.parse(ring.started_at || '');
	return Number.isNaN(started) ? null : started + (ring.bake_seconds || 0) * 1000;
}

function annotate(rel) {
	for (const r of rel.rings || []) {
		if (r.state === 'active')
			r._until = bakeEnd(r);
	}
	return rel;
}

// The bake timer of a ring: counts down to its end (app.js ticks [data-until] every second).
function bake(ring) {
	if (!ring.bake_seconds && ring.bake_seconds !== 0)
		return null;
	if (ring.state === 'active' && ring._until) {
		const until = ring._until;
		return h('span', { class: 'bake', 'data-until': new Date(until).toISOString() },
			until > Date.now() ? `bakes ${span((until - Date.now()) / 1000)} more` : 'baked; promotes when healthy');
	}
	if (ring.state === 'done')
		return h('span', { class: 'bake' }, `baked ${span(ring.bake_seconds)}`);
	return h('span', { class: 'bake muted' }, `bake ${span(ring.bake_seconds)}`);
}

function ringList(rel) {
	const rings = rel.rings || [];
	return h('ol', { class: 'rings', 'aria-label': 'Rings' }, rings.map((r, i) => h('li', {
		class: 'ring ring-' + (r.state || 'pending') + (i === rel.current_ring ? ' current' : ''),
		'aria-current': i === rel.current_ring ? 'step' : null,
		dataset: { ring: r.name ?? String(i) },
	},
	h('div', { class: 'ring-name' }, h('strong', {}, r.name || `ring ${i + 1}`), ' ', badge(r.state || 'pending')),
	h('div', {}, r.group ? ['group ', h('a', { href: href('#/hosts', { group: r.group }) }, r.group)] : r.percent ? `${r.percent} % of hosts` : '',
		typeof r.hosts === 'number' ? ` · ${num(r.hosts)} assigned` : ''),
	h('div', {}, bake(r)),
	h('div', { class: 'muted' }, `halts at ${num(r.failure_threshold ?? 1)} failure${(r.failure_threshold ?? 1) === 1 ? '' : 's'}`),
	r.started_at ? h('div', { class: 'muted' }, 'started ', when(r.started_at)) : null)));
}

function counts(rel) {
	const c = rel.counts;
	if (!c || typeof c !== 'object' || !Object.keys(c).length)
		return null;
	return h('ul', { class: 'counts', 'aria-label': 'Hosts of this release by state' },
		Object.entries(c).map(([k, v]) => h('li', {}, h('span', { class: 'n' }, typeof v === 'object' ? JSON.stringify(v) : num(v)), ' ', k.replace(/_/g, ' '))));
}

// What the failure signals say: failures against the threshold of the ring now rolling.
function health(rel) {
	const ring = (rel.rings || [])[rel.current_ring] || {};
	const thr = ring.failure_threshold ?? 1;
	const f = rel.failures ?? 0;
	const cls = f >= thr ? 'bad' : f > 0 ? 'warn' : 'good';
	return h('p', { class: 'health ' + cls },
		h('strong', {}, `${num(f)} failure signal${f === 1 ? '' : 's'}`), ` (crashes, apply failures, halts on hosts of this release); ${num(thr)} halt${thr === 1 ? 's' : ''} the ring`,
		rel.max_parallel_percent ? ` · at most ${rel.max_parallel_percent} % of a group at once` : '');
}

function actions(rel, ctx, onError) {
	if (!ctx.can('operator'))
		return null;
	const id = rel.id;
	const post = async (what, body, done) => {
		try {
			await api(`/releases/${id}/${what}`, { method: 'POST', body });
			announce(done);
			ctx.refresh();
		} catch (e) {
			onError(e);
		}
	};
	const out = [];
	const rings = rel.rings || [];
	if (rel.state === 'active' && rel.current_ring < rings.length - 1) {
		out.push(h('button', {
			type: 'button', class: 'primary', 'data-action': 'promote',
			onclick: async () => {
				const next = rings[rel.current_ring + 1];
				const ok = await confirmDialog({ title: `Promote release #${id}?`, text: `Start ring “${next?.name ?? rel.current_ring + 2}” now, without waiting for the bake time.`, ok: 'Promote' });
				if (ok)
					post('promote', undefined, `Release ${id} promoted`);
			},
		}, 'Promote'));
	}
	if (rel.state === 'active') {
		out.push(h('button', {
			type: 'button', class: 'danger', 'data-action': 'halt',
			onclick: async () => {
				const v = await confirmDialog({
					title: `Halt release #${id}?`, text: `No more hosts get ${rel.patch_id}.`, danger: true, ok: 'Halt release',
					fields: [{ name: 'reason', label: 'Reason (for the audit log)' }, { name: 'revert', type: 'checkbox', label: 'Also tell the hosts to revert the patch' }],
				});
				if (v)
					post('halt', { revert: v.revert, ...(v.reason ? { reason: v.reason } : {}) }, `Release ${id} halted`);
			},
		}, 'Halt'));
	}
	if (rel.state === 'halted') {
		out.push(h('button', {
			type: 'button', class: 'primary', 'data-action': 'resume',
			onclick: async () => {
				const ok = await confirmDialog({ title: `Resume release #${id}?`, text: 'Failures before now no longer count.', ok: 'Resume' });
				if (ok)
					post('resume', undefined, `Release ${id} resumed`);
			},
		}, 'Resume'));
	}
	return h('div', { class: 'actions' }, out);
}

function releaseCard(rel, ctx, detail) {
	const errSlot = h('div', { class: 'err-slot' });
	const onError = (e) => errSlot.replaceChildren(errorBox(e));
	const ev = Array.isArray(rel.evidence) ? rel.evidence : [];
	const evCols = evidenceColumns(ev);
	const ring = (rel.rings || [])[rel.current_ring];
	return h('article', { class: 'card release rel-' + rel.state, id: 'release-' + rel.id, 'aria-labelledby': 'rel-h-' + rel.id, dataset: { release: String(rel.id), state: rel.state } },
		h('div', { class: 'card-head' },
			h('h2', { id: 'rel-h-' + rel.id },
				detail ? `Release #${rel.id}` : h('a', { href: '#/rollouts/' + rel.id }, `Release #${rel.id}`), ' · ', code(rel.patch_id), ' ', badge(rel.state)),
			actions(rel, ctx, onError)),
		errSlot,
		h('p', { class: 'muted' }, ring ? `Rolling: ${ring.name ?? 'ring ' + (rel.current_ring + 1)} (${rel.current_ring + 1} of ${rel.rings.length})` : '',
			rel.created_at ? [' · released ', when(rel.created_at)] : '', rel.created_by ? ` by ${rel.created_by}` : '',
			rel.patch ? [' · level ', String(rel.patch.level ?? '–'), rel.patch.classification ? `, ${rel.patch.classification}` : '',
				...(rel.patch.cves || []).map((c) => [' ', h('a', { href: '#/cves/' + encodeURIComponent(c) }, c)])] : ''),
		health(rel),
		rel.state === 'halted' || rel.halted_reason ? h('p', { class: 'halted', role: 'note' }, h('strong', {}, 'Halted: '), rel.halted_reason || 'by an operator') : null,
		ringList(rel),
		counts(rel),
		ev.length || rel.state === 'halted' ? h('section', { class: 'evidence', 'aria-label': 'Evidence' },
			h('div', { class: 'card-head' }, h('h3', {}, 'Evidence'), h('div', { class: 'tools' }, csvButton(`release-${rel.id}-evidence`, evCols, async () => ev))),
			table(evCols, ev, { caption: `Evidence of release ${rel.id}`, empty: 'No failure recorded (halted by hand).' })) : null);
}

export default {
	title: 'Rollouts',

	async load(route) {
		if (route.id)
			return { one: annotate(await api('/releases/' + encodeURIComponent(route.id))) };
		return { releases: items(await api('/releases')).map(annotate) };
	},

	render(data, route, ctx) {
		if (data.one) {
			return h('div', { class: 'page' },
				h('p', { class: 'crumbs' }, h('a', { href: '#/rollouts' }, 'Rollouts'), ' / '),
				h('h1', {}, `Release #${data.one.id}: ${data.one.patch_id}`),
				releaseCard(data.one, ctx, true));
		}
		const patch = route.params.get('patch');
		const rels = data.releases.filter((r) => !patch || r.patch_id === patch).sort((a, b) => b.id - a.id);
		const cols = [
			{ key: 'id', label: 'Release', cell: (r) => h('a', { href: '#/rollouts/' + r.id }, '#' + r.id) },
			{ key: 'patch_id', label: 'Patch' },
			{ key: 'state', label: 'State', cell: (r) => badge(r.state) },
			{ key: 'current_ring', label: 'Ring', cell: (r) => (r.rings?.[r.current_ring]?.name ?? r.current_ring), csv: (r) => r.rings?.[r.current_ring]?.name ?? r.current_ring },
			{ key: 'rings', label: 'Rings', cell: (r) => (r.rings || []).map((x) => `${x.name}:${x.state}`).join(' '), csv: (r) => (r.rings || []).map((x) => `${x.name}:${x.state}`).join(' ') },
			{ key: 'failures', label: 'Failures', num: true },
			{ key: 'halted_reason', label: 'Halted because' },
		];
		const active = rels.filter((r) => r.state !== 'completed');
		const done = rels.filter((r) => r.state === 'completed');
		return h('div', { class: 'page' },
			h('div', { class: 'page-head' }, h('h1', {}, 'Rollouts'),
				patch ? h('p', { class: 'muted' }, 'Patch ', code(patch), ' · ', h('a', { href: '#/rollouts' }, 'all releases')) : null,
				!ctx.can('operator') ? h('p', { class: 'muted', id: 'read-only-note' }, 'Read-only: you can watch rollouts, not change them.') : null),
			active.length ? active.map((r) => releaseCard(r, ctx, false)) : h('p', { class: 'empty card' }, 'No release is rolling out. Release a patch with hotpatchctl release.'),
			card('All releases', [csvButton('releases', cols, async () => rels)],
				table(cols, rels, { id: 'releases', caption: 'Releases', rowKey: (r) => String(r.id), empty: 'No release yet.' })),
			done.length ? h('p', { class: 'muted' }, `${done.length} completed release${done.length === 1 ? '' : 's'} in the table above.`) : null);
	},
};
