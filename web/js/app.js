// SPDX-License-Identifier: MIT
// The dashboard shell: sign-in, hash routes (deep links), live refresh of the page shown.
//
// A page module exports {title, load(route, ctx) -> data, render(data, route, ctx) -> Node}.
// load() asks the API; render() builds the DOM from what load() returned and nothing else, so a
// refresh that brings the same data changes nothing on the screen.

import { api, ApiError, setToken, setUnauthorizedHandler, token } from './api.js';
import { h, errorBox, announce, span } from './ui.js';
import overview from './pages/overview.js';
import rollouts from './pages/rollouts.js';
import hosts from './pages/hosts.js';
import host from './pages/host.js';
import cves from './pages/cves.js';

const REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh')) || 10000;

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const session = document.getElementById('session');
const live = document.getElementById('live');
const liveToggle = document.getElementById('live-toggle');

const state = {
	me: null,		// {name, role} from /whoami
	route: null,
	page: null,
	dataKey: null,		// JSON of the data on screen
	timer: null,
	seq: 0,			// route generation: answers for an older route are dropped
	loading: false,
	prefetch: null,		// {hash, promise}: the first page's data, asked for with /whoami
};

const ROLE_RANK = { 'read-only': 1, operator: 2, admin: 3 };

const ctx = {
	// May the signed-in user do what needs this role?  Buttons that change something are only
	// built when it returns true; the server refuses the rest (403) anyway.
	can(role) {
		return (ROLE_RANK[state.me?.role] || 0) >= ROLE_RANK[role];
	},
	me: () => state.me,
	// Load and show the page again now (after an action).
	refresh: () => show({ keepFocus: true, force: true }),
	go(hash) {
		if (location.hash === hash)
			ctx.refresh();
		else
			location.hash = hash;
	},
};

// '#/hosts/abc?state=x' -> {name: 'hosts', id: 'abc', params: URLSearchParams, hash}
function parseRoute() {
	const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : 'overview';
	const [path, query] = raw.split('?');
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	return { name: parts[0] || 'overview', id: parts[1] || null, params: new URLSearchParams(query || ''), hash: location.hash };
}

function pageFor(route) {
	switch (route.name) {
	case 'overview': return overview;
	case 'rollouts': return rollouts;
	case 'hosts': return route.id ? host : hosts;
	case 'cves': return cves;
	default: return null;
	}
}

// Something that identifies the focused element across a re-render.
function focusKey() {
	const el = document.activeElement;
	if (!el || el === document.body || !main.contains(el))
		return null;
	if (el.id)
		return { id: el.id };
	const row = el.closest('[data-key]');
	return { row: row?.dataset.key, href: el.getAttribute('href'), text: el.textContent, tag: el.tagName };
}

function restoreFocus(key) {
	if (!key)
		return;
	let el = null;
	if (key.id) {
		el = document.getElementById(key.id);
	} else {
		const scope = key.row ? main.querySelector(`[data-key="${CSS.escape(key.row)}"]`) : main;
		const cands = scope ? [...scope.querySelectorAll(key.tag)] : [];
		el = cands.find((c) => c.getAttribute('href') === key.href && c.textContent === key.text) ||
			cands.find((c) => c.getAttribute('href') === key.href) || null;
	}
	el?.focus({ preventScroll: true });
}

// Load the current route and put it on the screen.  keepFocus: a refresh of the same page
// (live update or after an action) keeps the scroll position and the focused control.
async function show({ keepFocus = false, force = false } = {}) {
	const route = parseRoute();
	const page = pageFor(route);
	const seq = ++state.seq;
	const newRoute = !keepFocus;
	if (!page) {
		render(h('div', { class: 'page' }, h('h1', {}, 'Not found'),
			h('p', {}, 'No page at ', h('code', {}, location.hash), '. ', h('a', { href: '#/overview' }, 'Overview'))), 'Not found', true);
		return;
	}
	markNav(route.name);
	if (newRoute) {
		state.dataKey = null;
		main.setAttribute('aria-busy', 'true');
		if (!main.firstElementChild || state.route?.name !== route.name)
			render(h('div', { class: 'page loading' }, h('h1', {}, page.title), h('p', { class: 'muted' }, 'Loading…')), page.title, false);
	}
	state.route = route;
	state.page = page;
	state.loading = true;
	let data;
	try {
		const pre = state.prefetch;
		state.prefetch = null;
		data = await (pre && pre.hash === route.hash ? pre.promise : page.load(route, ctx));
	} catch (e) {
		if (seq !== state.seq)
			return;
		state.loading = false;
		main.removeAttribute('aria-busy');
		setLive(e);
		if (e instanceof ApiError && e.status === 401)
			return;
		if (newRoute || !main.querySelector('.page:not(.loading)'))
			render(h('div', { class: 'page' }, h('h1', {}, page.title), errorBox(e)), page.title, newRoute);
		return;
	}
	if (seq !== state.seq)
		return;
	state.loading = false;
	main.removeAttribute('aria-busy');
	setLive(null);
	const key = JSON.stringify(data);
	if (!force && key === state.dataKey)
		return;
	state.dataKey = key;
	const fk = keepFocus ? focusKey() : null;
	const scroll = window.scrollY;
	render(page.render(data, route, ctx), page.title, newRoute);
	// For measurements (docs/dashboard.md): when a page was first drawn from server data.
	if (newRoute)
		performance.mark('hp-drawn:' + route.name);
	if (keepFocus) {
		window.scrollTo(0, scroll);
		restoreFocus(fk);
	}
}

function render(node, title, moveFocus) {
	main.replaceChildren(node);
	document.title = title + ' · hotpatch';
	if (moveFocus) {
		// A new page: focus its heading, as a screen reader user expects after a navigation.
		const h1 = main.querySelector('h1');
		if (h1) {
			h1.tabIndex = -1;
			h1.focus({ preventScroll: true });
		}
		window.scrollTo(0, 0);
	}
}

function markNav(name) {
	for (const a of nav.querySelectorAll('a')) {
		if (a.dataset.page === name)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	}
}

function setLive(err) {
	const t = new Date().toISOString().slice(11, 19);
	live.classList.toggle('bad', !!err);
	live.textContent = err ? `Not updated: ${err.message}` : `Updated ${t} UTC`;
}

// The live update: ask again every few seconds while the tab is visible and "Live" is on;
// not while the user types in a form on the page (a re-render would take the text away).
function tick() {
	if (!state.me || document.hidden || !liveToggle.checked || state.loading)
		return;
	const el = document.activeElement;
	if (el && main.contains(el) && el.matches('input, select, textarea'))
		return;
	if (document.querySelector('dialog[open]'))
		return;
	show({ keepFocus: true });
}

// Bake timers count down every second without asking the server (the text keeps its width).
function countdowns() {
	for (const el of main.querySelectorAll('[data-until]')) {
		const left = (Date.parse(el.dataset.until) - Date.now()) / 1000;
		el.textContent = left > 0 ? `bakes ${span(left)} more` : 'baked; promotes when healthy';
	}
}

function loginView(message) {
	nav.hidden = true;
	session.hidden = true;
	const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'token-help' });
	const msg = h('div', { id: 'login-error', role: 'alert' }, message ? errorBox({ message }) : null);
	const form = h('form', { class: 'login card', id: 'login-form' },
		h('h1', {}, 'Sign in'),
		h('p', {}, h('label', { for: 'token' }, 'API token')),
		input,
		h('p', { id: 'token-help', class: 'muted' },
			'A token from ', h('code', {}, 'hotpatchctl token create --kind api --role read-only|operator|admin'),
			'. It is kept only in this tab.'),
		msg,
		h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const t = input.value.trim();
		try {
			const me = await api('/whoami', { tokenOverride: t });
			setToken(t);
			signedIn(me);
		} catch (e) {
			msg.replaceChildren(errorBox(e.status === 401 ? { message: 'This token is not valid (unknown, revoked or expired).' } : e));
			input.focus();
		}
	});
	main.replaceChildren(h('div', { class: 'page narrow' }, form));
	document.title = 'Sign in · hotpatch';
	input.focus();
}

function signedIn(me) {
	state.me = me;
	nav.hidden = false;
	session.hidden = false;
	document.getElementById('who').textContent = `${me.name ?? 'token'} (${me.role})`;
	document.body.dataset.role = me.role;
	announce(`Signed in as ${me.name ?? 'token'}, role ${me.role}`);
	show();
}

function signOut(message) {
	setToken(null);
	state.me = null;
	state.seq++;
	delete document.body.dataset.role;
	loginView(message);
}

async function start() {
	setUnauthorizedHandler(() => signOut('The server no longer accepts this token; sign in again.'));
	document.getElementById('logout').addEventListener('click', () => signOut());
	document.getElementById('skip-link').addEventListener('click', (ev) => {
		ev.preventDefault();
		main.focus();
	});
	window.addEventListener('hashchange', () => {
		if (state.me)
			show();
	});
	document.addEventListener('visibilitychange', tick);
	liveToggle.addEventListener('change', tick);
	state.timer = setInterval(tick, REFRESH_MS);
	setInterval(countdowns, 1000);
	if (!token())
		return loginView();
	// Ask for the first page's data while /whoami answers: one round trip less on a deep link.
	const route = parseRoute();
	const page = pageFor(route);
	if (page) {
		const promise = page.load(route, ctx);
		promise.catch(() => {});
		state.prefetch = { hash: route.hash, promise };
	}
	try {
		signedIn(await api('/whoami'));
	} catch (e) {
		if (e.status !== 401)
			loginView(e.message);
	}
}

start();
