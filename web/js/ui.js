// SPDX-License-Identifier: MIT
// DOM helpers.  Every value from the server enters the page as text (textContent or an
// attribute), never as HTML: host names, process names and reasons come from agents.

// h('a', {href: '#/x', class: 'y'}, 'text', child...) builds an element.
export function h(tag, attrs, ...children) {
	const el = tag.includes(':')
		? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
		: document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === undefined || c === null || c === false)
			continue;
		el.append(c instanceof Node ? c : String(c));
	}
}

// An SVG element.
export function s(tag, attrs, ...children) {
	return h('svg:' + tag, attrs, ...children);
}

const nf = new Intl.NumberFormat('en-US');
export function num(n) {
	return n === undefined || n === null ? '–' : nf.format(n);
}

export function pct(n, digits = 1) {
	if (n === undefined || n === null || Number.isNaN(n))
		return '–';
	return n.toFixed(digits) + ' %';
}

// "3 min ago" with the exact UTC time in a title (and a <time> element for machines).
export function when(iso) {
	if (!iso)
		return h('span', { class: 'muted' }, 'never');
	const t = Date.parse(iso);
	if (Number.isNaN(t))
		return String(iso);
	return h('time', { datetime: iso, title: iso }, ago(t));
}

export function ago(t) {
	const d = Math.round((Date.now() - t) / 1000);
	if (d < -5)
		return 'in ' + span(-d);
	if (d < 5)
		return 'just now';
	return span(d) + ' ago';
}

export function span(sec) {
	sec = Math.max(0, Math.round(sec));
	if (sec < 60)
		return sec + ' s';
	if (sec < 3600)
		return Math.floor(sec / 60) + ' min' + (sec % 60 && sec < 600 ? ' ' + (sec % 60) + ' s' : '');
	if (sec < 86400)
		return Math.floor(sec / 3600) + ' h ' + Math.floor((sec % 3600) / 60) + ' min';
	return Math.floor(sec / 86400) + ' d ' + Math.floor((sec % 86400) / 3600) + ' h';
}

// The state names the server uses, in the report's column order, with their labels.
export const HOST_STATES = [
	['up-to-date', 'Up to date'],
	['hotpatched', 'Hotpatched'],
	['not-up-to-date', 'Not up to date'],
	['in-progress', 'In progress'],
	['not-ready', 'Not ready'],
	['paused', 'Paused'],
];

// A state as a coloured badge; the colour is never the only signal (the word is there).
export function badge(state, extra) {
	const label = String(state ?? 'unknown');
	return h('span', { class: 'badge st-' + label.replace(/[^a-z0-9-]/gi, ''), title: extra || null }, label);
}

export function code(text, cls) {
	return h('code', { class: cls || null, title: text && String(text).length > 16 ? String(text) : null },
		text ?? '–');
}

// Build ids are long; show the first 12 hex digits, the whole id in a title.
export function buildId(id) {
	if (!id)
		return h('span', { class: 'muted' }, '–');
	return h('code', { title: id, class: 'bid' }, String(id).slice(0, 12) + (String(id).length > 12 ? '…' : ''));
}

// A hash link: link('#/hosts', {state: 'x'}) -> '#/hosts?state=x'.
export function href(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {})) {
		if (v !== undefined && v !== null && v !== '' && v !== false)
			q.set(k, String(v));
	}
	const qs = q.toString();
	return path + (qs ? '?' + qs : '');
}

// Say something to screen readers without moving focus.
export function announce(text) {
	const el = document.getElementById('announce');
	el.textContent = '';
	setTimeout(() => { el.textContent = text; }, 50);
}

export function errorBox(err) {
	return h('div', { class: 'error', role: 'alert' },
		h('strong', {}, err.status === 403 ? 'Not allowed: ' : 'Error: '), err.message || String(err));
}

// ---- CSV ----

// One CSV field (RFC 4180).  A text that a spreadsheet would run as a formula (= + - @ tab CR
// first) gets a leading apostrophe: host names and reasons come from agents.
export function csvField(v) {
	if (v === undefined || v === null)
		return '';
	if (typeof v === 'object')
		v = Array.isArray(v) ? v.join(' ') : JSON.stringify(v);
	let t = String(v);
	if (typeof v === 'string' && /^[=+\-@\t\r]/.test(t) && !/^-?\d+(\.\d+)?$/.test(t))
		t = "'" + t;
	return /[",\r\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
}

export function toCsv(header, rows) {
	return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function download(name, text, type = 'text/csv;charset=utf-8') {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = h('a', { href: url, download: name, hidden: true });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- tables ----

// A table of rows.  columns: [{key, label, num, cell(row) -> node|string, csv(row) -> value}].
// opts: {caption, id, empty, csvName, csvRows: async () => rows (default: these rows), footer}.
// The CSV has the table's columns (plus hidden csv-only columns with {csvOnly: true}).
export function table(columns, rows, opts = {}) {
	const shown = columns.filter((c) => !c.csvOnly);
	const head = h('tr', {}, shown.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
	const body = h('tbody', {}, rows.map((r, i) => h('tr', { dataset: { key: opts.rowKey ? opts.rowKey(r) : String(i) } },
		shown.map((c, j) => {
			const v = c.cell ? c.cell(r) : r[c.key];
			const attrs = { class: c.num ? 'num' : null };
			return j === 0 && opts.rowHeader !== false ? h('th', { scope: 'row', ...attrs }, v ?? '–') : h('td', attrs, v ?? '–');
		}))));
	const tbl = h('table', { class: 'data', id: opts.id || null },
		opts.caption ? h('caption', { class: 'visually-hidden' }, opts.caption) : null,
		h('thead', {}, head), body, opts.footer || null);
	const wrap = h('div', { class: 'table-wrap' }, tbl);
	if (rows.length === 0)
		wrap.append(h('p', { class: 'empty' }, opts.empty || 'Nothing to show.'));
	return wrap;
}

// The "Download CSV" button of a table.
export function csvButton(name, columns, getRows, label = 'Download CSV') {
	const btn = h('button', { type: 'button', class: 'quiet csv', 'data-csv': name }, label);
	btn.addEventListener('click', async () => {
		btn.disabled = true;
		const old = btn.textContent;
		try {
			const rows = await getRows((n, t) => { btn.textContent = `Exporting ${num(n)} / ${num(t)}…`; });
			const cols = columns.filter((c) => c.csv !== false);
			download(name + '.csv', toCsv(cols.map((c) => c.csvLabel || c.key),
				rows.map((r) => cols.map((c) => (typeof c.csv === 'function' ? c.csv(r) : r[c.key])))));
			announce(`${name}.csv downloaded, ${rows.length} rows`);
		} catch (e) {
			announce('Export failed: ' + e.message);
			alertError(btn, e);
		} finally {
			btn.textContent = old;
			btn.disabled = false;
		}
	});
	return btn;
}

function alertError(near, e) {
	const box = errorBox(e);
	near.closest('section')?.prepend(box);
	setTimeout(() => box.remove(), 8000);
}

// A titled card with tools (buttons) on the right of its heading.
export function card(title, tools, ...content) {
	const id = 'h-' + String(title).toLowerCase().replace(/[^a-z0-9]+/g, '-');
	return h('section', { class: 'card', 'aria-labelledby': id },
		h('div', { class: 'card-head' }, h('h2', { id }, title), h('div', { class: 'tools' }, tools)),
		content);
}

// Key/value list (inventory).
export function facts(pairs) {
	return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '–')]));
}

// A modal confirmation built on <dialog>: focus is trapped and Escape cancels, by the browser.
// fields: [{name, label, type: 'checkbox'|'text', value}].  Resolves to the values or null.
export function confirmDialog({ title, text, fields = [], ok = 'Confirm', danger = false }) {
	return new Promise((resolve) => {
		const inputs = {};
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
			h('form', { method: 'dialog' },
				h('h2', { id: 'dlg-title' }, title),
				text ? h('p', {}, text) : null,
				fields.map((f) => {
					const id = 'dlg-' + f.name;
					const input = inputs[f.name] = h('input', {
						id, name: f.name, type: f.type || 'text',
						checked: f.type === 'checkbox' && f.value ? true : null,
						value: f.type === 'checkbox' ? null : (f.value || ''),
						autocomplete: 'off',
					});
					return f.type === 'checkbox'
						? h('p', {}, h('label', { class: 'check' }, input, ' ', f.label))
						: h('p', {}, h('label', { for: id }, f.label), input);
				}),
				h('div', { class: 'buttons' },
					h('button', { value: 'cancel', type: 'submit', class: 'quiet', formnovalidate: true }, 'Cancel'),
					h('button', { value: 'ok', type: 'submit', class: danger ? 'danger' : 'primary' }, ok))));
		dlg.addEventListener('close', () => {
			const okd = dlg.returnValue === 'ok';
			const vals = {};
			for (const [k, el] of Object.entries(inputs))
				vals[k] = el.type === 'checkbox' ? el.checked : el.value;
			dlg.remove();
			resolve(okd ? vals : null);
		});
		document.body.append(dlg);
		dlg.showModal();
	});
}
