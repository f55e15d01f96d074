// SPDX-License-Identifier: MIT
// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
// hotpatch-server seeded through its API (seed.mjs).  Prints TAP.  Run by
// tests/integration/t8050-dashboard.sh, which starts the server and seeds it; environment:
//   HP_DASH_URL    the server's base URL            HP_DASH_SEED  seed.json (tokens, hosts, releases)
//   HP_DASH_SHOTS  directory for the screenshots     HP_PLAYWRIGHT playwright-core's directory
//   HP_CHROMIUM    the browser (default /usr/bin/chromium)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const URL0 = process.env.HP_DASH_URL.replace(/\/$/, '') + '/';
const SEED = JSON.parse(fs.readFileSync(process.env.HP_DASH_SEED, 'utf8'));
const SHOTS = process.env.HP_DASH_SHOTS;
const { chromium } = await import(path.join(process.env.HP_PLAYWRIGHT, 'index.mjs'));
const seedLib = await import('./seed.mjs');
seedLib.configure(URL0, SEED.tokens.admin);

// ---- TAP ----
let n = 0, failed = 0;
const say = (s) => console.log(String(s).split('\n').map((l) => '# ' + l).join('\n'));
async function test(name, fn, { todo } = {}) {
	n++;
	const t0 = Date.now();
	try {
		await fn();
		console.log(`ok ${n} - ${name}${todo ? ' # TODO ' + todo : ''}`);
	} catch (e) {
		if (!todo)
			failed++;
		console.log(`not ok ${n} - ${name}${todo ? ' # TODO ' + todo : ''}`);
		say(e.stack || String(e));
	}
	if (process.env.HP_VERBOSE)
		say(`${name}: ${Date.now() - t0} ms`);
}
function eq(a, b, what) {
	const sa = JSON.stringify(a), sb = JSON.stringify(b);
	if (sa !== sb)
		throw new Error(`${what}: got ${sa}, expected ${sb}`);
}
function ok(v, what) {
	if (!v)
		throw new Error(what);
}

// ---- API ----
async function api(method, p, token, body) {
	const r = await fetch(URL0 + 'api/v1' + p, {
		method, headers: { Authorization: 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await r.text();
	return { status: r.status, body: text && r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}
const get = async (p, token = SEED.tokens.admin) => {
	const r = await api('GET', p, token);
	if (r.status !== 200)
		throw new Error(`GET ${p}: ${r.status} ${JSON.stringify(r.body)}`);
	return r.body;
};
// Every host id of a /hosts filter, through the API's paging.
async function hostIds(params) {
	const ids = [];
	for (let page = 1; ; page++) {
		const q = new URLSearchParams({ ...params, page, per_page: 1000 });
		const d = await get('/hosts?' + q);
		ids.push(...d.items.map((x) => x.host_id));
		if (ids.length >= d.total || !d.items.length)
			return { ids: ids.sort(), total: d.total };
	}
}

// RFC 4180 CSV.
function parseCsv(text) {
	const rows = [];
	let row = [], f = '', q = false;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (q) {
			if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
		} else if (c === '"') q = true;
		else if (c === ',') { row.push(f); f = ''; }
		else if (c === '\r' && text[i + 1] === '\n') { row.push(f); rows.push(row); row = []; f = ''; i++; }
		else if (c === '\n') { row.push(f); rows.push(row); row = []; f = ''; }
		else f += c;
	}
	if (f || row.length) { row.push(f); rows.push(row); }
	return rows;
}

const fmt = (v) => new Intl.NumberFormat('en-US').format(v);
const policyParam = (p) => (p === null || p === '' ? '-' : p);
const STATE_OF = { up_to_date: 'up-to-date', hotpatched: 'hotpatched', not_up_to_date: 'not-up-to-date', in_progress: 'in-progress', not_ready: 'not-ready', paused: 'paused' };
const COLS = ['devices', ...Object.keys(STATE_OF), 'restart_required'];
function filterOf(policy, col) {
	const f = {};
	if (policy !== undefined)
		f.policy = policy === null ? '' : policy;
	if (STATE_OF[col])
		f.state = STATE_OF[col];
	if (col === 'restart_required')
		f.restart_required = 'true';
	return f;
}

// ---- browser ----
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
	executablePath: process.env.HP_CHROMIUM || '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
	viewport: { width: 1440, height: 900 }, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC',
});
ctx.setDefaultTimeout(15000);
const pageErrors = [];

async function newPage() {
	const p = await ctx.newPage();
	p.on('pageerror', (e) => pageErrors.push(e.message));
	p.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
	// Layout shifts (Chromium's layout-shift entries), summed per page for the no-jump check.
	await p.addInitScript(() => {
		window.__shift = 0;
		new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__shift += e.value; })
			.observe({ type: 'layout-shift', buffered: true });
	});
	return p;
}
async function login(p, token, query = '') {
	await p.goto(URL0 + query);
	await p.fill('#token', token);
	await p.click('#login-form button[type=submit]');
	await p.waitForSelector('#nav:not([hidden])');
}
// Go to a hash route and wait until the page has drawn from fresh data.
async function go(p, hash, ready) {
	await p.evaluate((h) => { location.hash = h; }, hash);
	await p.waitForFunction(() => !document.querySelector('#main[aria-busy]') && document.querySelector('#main .page:not(.loading)'));
	if (ready)
		await p.waitForSelector(ready);
}
async function shot(p, name) {
	if (!SHOTS)
		return;
	await p.evaluate(() => document.activeElement?.blur());
	await p.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}
const rowKeys = (p, table) => p.$$eval(`#${table} tbody tr`, (rs) => rs.map((r) => r.dataset.key));
async function download(p, selector) {
	const [dl] = await Promise.all([p.waitForEvent('download'), p.click(selector)]);
	return { name: dl.suggestedFilename(), text: fs.readFileSync(await dl.path(), 'utf8') };
}

const viewer = await newPage();
const report = await get('/reports/policies');
// Today's trend snapshot is taken by the server's first rollout tick after its start.
for (let i = 0; i < 100 && !(await get('/reports/trend?days=90')).items.length; i++)
	await new Promise((r) => setTimeout(r, 100));

await test('a wrong token is refused on the sign-in page', async () => {
	await viewer.goto(URL0);
	await shot(viewer, 'login');
	await viewer.fill('#token', 'hpa_' + '0'.repeat(64));
	await viewer.click('#login-form button[type=submit]');
	await viewer.waitForSelector('#login-error .error');
	ok(await viewer.isHidden('#nav'), 'navigation shown without a valid token');
	pageErrors.length = 0;	// the browser logs the refused request (401) as an error
});

await test('a read-only token signs in and the page says its role', async () => {
	await login(viewer, SEED.tokens.viewer);
	const who = await viewer.textContent('#who');
	ok(who.includes('read-only'), 'role shown: ' + who);
});

await test('overview numbers equal /reports/policies (every policy, every column, the total)', async () => {
	const t0 = Date.now();
	await go(viewer, '#/overview', '#report');
	say(`overview drawn ${Date.now() - t0} ms after navigation (${report.items.length} policies)`);
	for (const r of [...report.items, { ...report.total, policy: '__all' }]) {
		const key = r.policy === '__all' ? '__all' : 'p:' + policyParam(r.policy);
		for (const c of COLS) {
			const text = await viewer.textContent(`tr[data-key="${key}"] a[data-cell="${c}"]`);
			eq(text, fmt(r[c]), `${key} ${c}`);
		}
		const pct = await viewer.textContent(`tr[data-key="${key}"] a[data-cell="percent_on_latest"]`);
		eq(pct, r.percent_on_latest.toFixed(1) + ' %', `${key} % on latest`);
	}
	await shot(viewer, 'overview');
});

await test('the trend chart has a column per day of /reports/trend, its table the same numbers', async () => {
	const trend = (await get('/reports/trend?days=90')).items;
	ok(trend.length > 0, 'the server has a snapshot of today');
	const days = [...new Set(trend.map((r) => r.day))].sort();
	await go(viewer, '#/overview', '#report');
	eq((await viewer.$$('svg.chart g.day')).length, days.length, 'chart columns');
	const last = days[days.length - 1];
	const sum = (k) => trend.filter((r) => r.day === last).reduce((a, r) => a + r[k], 0);
	await viewer.click('details summary');
	const cells = await viewer.$$eval('.trend + details tbody tr:first-child > *', (tds) => tds.map((x) => x.textContent));
	eq(cells.slice(0, 3), [last, fmt(sum('devices')), fmt(sum('up_to_date'))], 'newest day in the table');
	const one = trend.find((r) => r.policy)?.policy;
	await viewer.selectOption('#trend-policy', one);
	await viewer.waitForFunction(() => location.hash.includes('trend='));
	await go(viewer, await viewer.evaluate(() => location.hash), 'svg.chart');
	eq((await viewer.$$('svg.chart g.day')).length, trend.filter((r) => r.policy === one).length, 'columns of one policy');
});

await test('percentage mode shows each number as a share of the devices', async () => {
	await viewer.click('label:has(#mode-percent)');
	await viewer.waitForFunction(() => location.hash.includes('mode=percent'));
	await go(viewer, '#/overview?mode=percent', '#report');
	const r = report.items.find((x) => x.devices > 0);
	const key = 'p:' + policyParam(r.policy);
	for (const c of Object.keys(STATE_OF)) {
		const text = await viewer.textContent(`tr[data-key="${key}"] a[data-cell="${c}"]`);
		eq(text, ((r[c] * 100) / r.devices).toFixed(1) + ' %', `${key} ${c} (percent)`);
	}
	eq(await viewer.textContent(`tr[data-key="${key}"] a[data-cell="devices"]`), fmt(r.devices), 'devices stay a count');
	await shot(viewer, 'overview-percent');
});

await test('clicking a report number lists exactly the hosts behind it', async () => {
	let clicks = 0;
	for (const r of [...report.items, { ...report.total, policy: '__all' }]) {
		const key = r.policy === '__all' ? '__all' : 'p:' + policyParam(r.policy);
		for (const c of COLS) {
			if (!r[c])
				continue;
			await go(viewer, '#/overview', '#report');
			await viewer.click(`tr[data-key="${key}"] a[data-cell="${c}"]`);
			await viewer.waitForFunction(() => location.hash.startsWith('#/hosts'));
			await go(viewer, await viewer.evaluate(() => location.hash), '#host-count');
			const want = await hostIds(filterOf(r.policy === '__all' ? undefined : r.policy, c));
			const got = (await rowKeys(viewer, 'hosts')).sort();
			eq(got, want.ids, `${key} ${c}: hosts listed`);
			eq(got.length, r[c], `${key} ${c}: as many hosts as the number`);
			clicks++;
		}
	}
	say(`${clicks} numbers clicked`);
});

// "% on latest" needs /hosts?state=a,b (asked for in CONTRACT-CHANGES.md): a TODO until the server takes lists.
{
	const r = report.items.find((x) => x.up_to_date && x.hotpatched) || report.items[0];
	const multi = await hostIds({ state: 'up-to-date,hotpatched', policy: r.policy ?? '' });
	const todo = multi.total !== r.up_to_date + r.hotpatched ? 'the server does not take a list in /hosts?state= yet' : undefined;
	await test('the "% on latest" number lists the up-to-date and hotpatched hosts', async () => {
		await go(viewer, '#/overview', '#report');
		await viewer.click(`tr[data-key="p:${policyParam(r.policy)}"] a[data-cell="percent_on_latest"]`);
		await go(viewer, await viewer.evaluate(() => location.hash), '#host-count');
		const a = await hostIds({ state: 'up-to-date', policy: r.policy ?? '' });
		const b = await hostIds({ state: 'hotpatched', policy: r.policy ?? '' });
		eq((await rowKeys(viewer, 'hosts')).sort(), [...a.ids, ...b.ids].sort(), 'hosts on the latest level');
	}, { todo });
}

await test('host search and filters list what the API lists; the view is a deep link', async () => {
	await go(viewer, '#/hosts', '#host-filters');
	await viewer.fill('#f-q', 'web-0');
	await viewer.selectOption('#f-state', 'hotpatched');
	await viewer.press('#f-q', 'Enter');
	await viewer.waitForFunction(() => location.hash.includes('state=hotpatched') && location.hash.includes('q=web-0'));
	await go(viewer, await viewer.evaluate(() => location.hash), '#host-count');
	const want = await hostIds({ q: 'web-0', state: 'hotpatched' });
	ok(want.total > 0, 'the seed has hotpatched web hosts');
	eq((await rowKeys(viewer, 'hosts')).sort(), want.ids, 'search + state');
	await shot(viewer, 'hosts-filtered');
	await viewer.reload();
	await viewer.waitForSelector('#hosts');
	eq((await rowKeys(viewer, 'hosts')).sort(), want.ids, 'same list after a reload of the deep link');
	for (const f of [{ cve: 'CVE-2026-2001' }, { group: 'db' }, { restart_required: 'true' }, { policy: '-' }]) {
		await go(viewer, '#/hosts?' + new URLSearchParams(f), '#host-count');
		const w = await hostIds(f.policy === '-' ? { policy: '' } : f);
		eq((await rowKeys(viewer, 'hosts')).sort(), w.ids, 'filter ' + JSON.stringify(f));
	}
	await go(viewer, '#/hosts', '#hosts');
	await shot(viewer, 'hosts');
});

await test('a host page shows inventory, assessment, every process target and the history', async () => {
	const h = SEED.hosts.find((x) => x.hostname === 'db-01.example.net');
	await go(viewer, '#/hosts/' + h.host_id, '#processes');
	const procs = await get(`/hosts/${h.host_id}/processes`);
	const hist = await get(`/hosts/${h.host_id}/history?per_page=50`);
	const host = await get(`/hosts/${h.host_id}`);
	eq(await viewer.textContent('h1'), h.hostname, 'heading');
	eq((await viewer.$$('#processes tbody tr')).length, procs.items.length, 'process rows');
	eq((await viewer.$$('#history tbody tr')).length, hist.items.length, 'history rows');
	eq((await viewer.$$('#checks tbody tr')).length, host.assessment.checks.length, 'assessment checks');
	ok((await viewer.textContent('#history')).includes('SIGSEGV'), 'the crash is in the history');
	await shot(viewer, 'host');
	const r = SEED.hosts.find((x) => x.kind === 'restart');
	await go(viewer, '#/hosts/' + r.host_id, '#restart');
	ok((await viewer.textContent('#restart')).includes('tomcat.service'), 'restart-required unit listed');
	ok((await viewer.textContent('#processes')).includes('restart-required'), 'process target state');
});

await test('strings from agents are shown as text: no markup runs, CSV cells cannot become formulas', async () => {
	const h = SEED.hosts.find((x) => x.kind === 'failed');
	await go(viewer, '#/hosts/' + h.host_id, '#processes');
	const text = await viewer.textContent('#processes');
	ok(text.includes(seedLib.HOSTILE_COMM), 'the process name is shown as it is');
	ok(text.includes(seedLib.HOSTILE_REASON), 'the reason is shown as it is');
	eq(await viewer.$$eval('#processes img, #processes script', (x) => x.length), 0, 'elements made from agent strings');
	eq(await viewer.evaluate(() => window.__xss ?? null), null, 'script from an agent string ran');
	const rows = parseCsv((await download(viewer, 'button[data-csv$="-processes"]')).text);
	const unit = rows[0].indexOf('unit'), reason = rows[0].indexOf('reason');
	const row = rows.find((r) => r[reason] === seedLib.HOSTILE_REASON);
	ok(row, 'the reason round-trips through CSV quoting');
	eq(row[unit], "'" + seedLib.HOSTILE_UNIT, 'a formula-looking cell is prefixed with an apostrophe');
});

await test('the CVE page lists every CVE and its fixing patches; a CVE lists the processes still vulnerable', async () => {
	const cves = await get('/reports/cves');
	await go(viewer, '#/cves', '#cves');
	eq((await rowKeys(viewer, 'cves')).sort(), [...new Set(cves.items.map((x) => x.cve))].sort(), 'CVEs');
	for (const x of cves.items)
		ok((await viewer.textContent(`#cves tr[data-key="${x.cve}"]`)).includes(x.patch_id), `${x.cve} fixed by ${x.patch_id}`);
	await shot(viewer, 'cves');
	const detail = await get('/reports/cves/CVE-2026-2001?per_page=1000');
	await go(viewer, '#/cves/CVE-2026-2001', '#cve-rows');
	eq((await viewer.$$('#cve-rows tbody tr')).length, detail.items.length, 'vulnerable process rows');
	ok(detail.items.length > 0, 'the seed has vulnerable processes');
	await shot(viewer, 'cve');
});

await test('a read-only user sees no button that changes something', async () => {
	await go(viewer, '#/rollouts', '#releases');
	eq((await viewer.$$('[data-action]')).length, 0, 'promote/halt/resume buttons');
	ok(await viewer.isVisible('#read-only-note'), 'the page says why');
	await go(viewer, '#/hosts/' + SEED.hosts[0].host_id, '#processes');
	eq((await viewer.$$('#host-edit')).length, 0, 'host edit form');
});

await test('the server refuses a halt with the read-only token (403), the release keeps rolling', async () => {
	const r = await api('POST', `/releases/${SEED.releases.manual}/halt`, SEED.tokens.viewer, { reason: 'viewer' });
	eq(r.status, 403, 'status');
	eq((await get('/releases/' + SEED.releases.manual)).state, 'active', 'release state');
});

const operator = await newPage();
await test('an operator halts a release from the page and the API says halted', async () => {
	await login(operator, SEED.tokens.operator);
	await go(operator, '#/rollouts', '#releases');
	const card = `article[data-release="${SEED.releases.manual}"]`;
	eq(await operator.getAttribute(card, 'data-state'), 'active', 'state before');
	ok(await operator.isVisible(`${card} [data-action=promote]`), 'promote offered');
	await shot(operator, 'rollouts');
	await operator.click(`${card} [data-action=halt]`);
	await operator.waitForSelector('dialog[open]');
	await operator.fill('#dlg-reason', 'stopped from the dashboard test');
	await operator.check('#dlg-revert');
	await shot(operator, 'rollouts-halt-dialog');
	await operator.click('dialog[open] button[value=ok]');
	await operator.waitForSelector(`${card}[data-state="halted"]`);
	const rel = await get('/releases/' + SEED.releases.manual);
	eq(rel.state, 'halted', 'API release state');
	eq(rel.rings[rel.current_ring].state, 'halted', 'API ring state');
	ok(String(rel.halted_reason).includes('stopped from the dashboard test'), 'reason: ' + rel.halted_reason);
	ok(await operator.isVisible(`${card} [data-action=resume]`), 'resume offered');
	const audit = await get('/audit?per_page=20');
	ok(audit.items.some((a) => String(a.action).includes('halt') && String(a.actor ?? a.who ?? '').includes('operator')), 'audit log names the operator');
});

await test('a release halted by its failure signals shows the evidence (hosts, processes, crash)', async () => {
	const rel = await get('/releases/' + SEED.releases.crashed);
	eq(rel.state, 'halted', 'seeded release halted by itself');
	ok(rel.evidence.length > 0, 'the API has evidence');
	await go(operator, '#/rollouts/' + SEED.releases.crashed, `article[data-release="${SEED.releases.crashed}"]`);
	const text = await operator.textContent('.evidence');
	for (const e of rel.evidence) {
		ok(text.includes(e.hostname), 'evidence host ' + e.hostname);
		ok(text.includes(String(e.pid)), 'evidence pid ' + e.pid);
	}
	ok(await operator.isVisible('.halted'), 'halted reason shown');
	await shot(operator, 'release-halted');
});

await test('CSV export downloads and parses: the policy report and a filtered host list', async () => {
	await go(operator, '#/overview', '#report');
	const rep = await get('/reports/policies');
	const { name, text } = await download(operator, 'button[data-csv="policy-report"]');
	eq(name, 'policy-report.csv', 'file name');
	const rows = parseCsv(text);
	const head = rows[0];
	for (const c of ['policy', ...COLS, 'percent_on_latest'])
		ok(head.includes(c), 'column ' + c);
	for (const r of rep.items) {
		const row = rows.find((x) => x[head.indexOf('policy')] === (r.policy ?? ''));
		ok(row, 'row for ' + r.policy);
		for (const c of COLS)
			eq(Number(row[head.indexOf(c)]), r[c], `${r.policy} ${c}`);
	}
	await go(operator, '#/hosts?policy=prod-web', '#hosts');
	const hosts = await download(operator, 'button[data-csv="hosts"]');
	const hr = parseCsv(hosts.text);
	const want = await hostIds({ policy: 'prod-web' });
	eq(hr.slice(1).map((x) => x[hr[0].indexOf('host_id')]).sort(), want.ids, 'host ids in the CSV');
	const h = SEED.hosts.find((x) => x.hostname === 'db-01.example.net');
	await go(operator, '#/hosts/' + h.host_id, '#processes');
	const pr = parseCsv((await download(operator, 'button[data-csv^="host-db-01"][data-csv$="processes"]')).text);
	eq(pr.length - 1, (await get(`/hosts/${h.host_id}/processes`)).items.length, 'process rows in the CSV');
});

await test('live: a host that checks in shows up on the open overview without a reload, nothing jumps', async () => {
	const live = await newPage();
	await login(live, SEED.tokens.viewer, '?refresh=1000#/overview');
	await go(live, '#/overview', '#report');
	const before = Number((await live.textContent('tr[data-key="p:prod-web"] a[data-cell="devices"]')).replace(/,/g, ''));
	const box0 = await live.locator('#report').boundingBox();
	await live.evaluate(() => { window.__marker = 'same document'; window.__shift = 0; });
	const h = { hostname: 'web-99.example.net', machine_id: 'f'.repeat(32), kind: 'hotpatched', group: 'web', policy: 'prod-web', kernel: '6.1.0-28-amd64' };
	await seedLib.enroll(SEED.tokens.enroll, h);
	await seedLib.call('PATCH', '/hosts/' + h.host_id, { group: 'web' }, SEED.tokens.admin);
	await seedLib.checkin(h);
	await live.waitForFunction((want) => document.querySelector('tr[data-key="p:prod-web"] a[data-cell="devices"]')?.textContent === want,
		fmt(before + 1), { timeout: 20000 });
	eq(await live.evaluate(() => window.__marker), 'same document', 'no reload');
	const box1 = await live.locator('#report').boundingBox();
	eq([box1.x, box1.y, box1.width], [box0.x, box0.y, box0.width], 'report table did not move');
	const shift = await live.evaluate(() => window.__shift);
	ok(shift < 0.01, 'layout shift during live updates: ' + shift);
	await live.close();
});

await test('keyboard and labels: focus follows navigation, skip link works, every form control labelled', async () => {
	await go(operator, '#/hosts', '#host-filters');
	eq(await operator.evaluate(() => document.activeElement.tagName), 'H1', 'focus on the new page\'s heading');
	await operator.keyboard.press('Tab');
	eq(await operator.evaluate(() => document.activeElement.id), 'f-q', 'Tab from the heading: the search field');
	await operator.focus('#skip-link');
	ok((await operator.locator('#skip-link').boundingBox()).width > 20, 'the skip link shows when focused');
	await operator.keyboard.press('Enter');
	eq(await operator.evaluate(() => document.activeElement.id), 'main', 'the skip link moves focus to the content');
	for (const hash of ['#/overview', '#/hosts', '#/rollouts', '#/hosts/' + SEED.hosts[0].host_id]) {
		await go(operator, hash);
		const unlabelled = await operator.$$eval('main input:not([type=hidden]), main select, main button',
			(els) => els.filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim()))).map((e) => e.outerHTML.slice(0, 80)));
		eq(unlabelled, [], 'unlabelled controls on ' + hash);
	}
	// The Halt dialog works from the keyboard: Escape cancels.
	await go(operator, '#/rollouts', '#releases');
	const btn = `article[data-release="${SEED.releases.rolling}"] [data-action=halt]`;
	await operator.focus(btn);
	await operator.keyboard.press('Enter');
	await operator.waitForSelector('dialog[open]');
	await operator.keyboard.press('Escape');
	await operator.waitForSelector('dialog[open]', { state: 'detached' });
	eq((await get('/releases/' + SEED.releases.rolling)).state, 'active', 'Escape halted nothing');
});

await test('the dashboard works under a strict Content-Security-Policy (no inline script or style)', async () => {
	const csp = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
	const p = await newPage();
	await p.route((u) => u.pathname === '/' || u.pathname.endsWith('.html'), async (route) => {
		const r = await route.fetch();
		await route.fulfill({ response: r, headers: { ...r.headers(), 'content-security-policy': csp } });
	});
	await p.addInitScript(() => {
		window.__csp = [];
		document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
	});
	await login(p, SEED.tokens.operator);
	for (const hash of ['#/overview', '#/rollouts', '#/hosts', '#/hosts/' + SEED.hosts[0].host_id, '#/cves'])
		await go(p, hash);
	await p.click('button[data-csv="cves"]');
	eq(await p.evaluate(() => window.__csp), [], 'CSP violations');
	await p.close();
});

await test('no script error on any page', async () => {
	eq(pageErrors, [], 'errors');
});

console.log(`1..${n}`);
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
