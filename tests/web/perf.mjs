// SPDX-License-Identifier: MIT
// A measurement, not a test (docs/dashboard.md): fill a hotpatch-server with N hosts through
// its API (enroll + one check-in each, concurrently), then time the dashboard's overview in
// chromium: from navigation start to the report table drawn from server data.
//
//   HP_PLAYWRIGHT=.../node_modules/playwright-core node perf.mjs URL ADMIN_TOKEN N [runs]
// With N = 0 no host is added (measure a database filled before).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configure, call } from './seed.mjs';

const [url, admin, nArg, runsArg] = process.argv.slice(2);
const N = Number(nArg || 0), RUNS = Number(runsArg || 7);
configure(url, admin);
const BASE = url.replace(/\/$/, '') + '/api/v1';
const GROUPS = [['web', 'prod-web'], ['db', 'prod-db'], ['batch', 'prod-batch'], ['canary', 'staging']];
const KINDS = ['patched', 'ineligible', 'pending', 'failed', 'not-eligible'];

async function prepare() {
	const have = await call('GET', '/groups');
	if ((have.items ?? have).some((g) => g.name === 'web'))
		return;
	for (const [g, p] of GROUPS) {
		await call('POST', '/policies', { version: 1, name: p, apply_without_restart: true, auto_classifications: ['security'], paused: false, windows: [], restart: 'never' });
		await call('POST', '/groups', { name: g, policy: p });
	}
}

async function oneHost(i, enrollTokens) {
	const g = i % GROUPS.length;
	const hostname = `perf-${String(i).padStart(6, '0')}`;
	const machine = i.toString(16).padStart(32, '0');
	let r = await fetch(BASE + '/enroll', {
		method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ protocol: 1, token: enrollTokens[g], hostname, machine_id: machine, agent_version: '0.1.0' }),
	});
	const e = await r.json();
	if (r.status !== 201)
		throw new Error('enroll: ' + JSON.stringify(e));
	const kind = KINDS[i % KINDS.length];
	const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
	const report = {
		protocol: 1,
		host: { host_id: e.host_id, hostname, machine_id: machine, agent_version: '0.1.0', kernel: '6.1.0-28-amd64', arch: 'x86_64', time: now },
		assessment: { time: now, verdict: kind === 'not-eligible' ? 'not-eligible' : 'eligible', checks: [{ name: 'ptrace_scope', result: kind === 'not-eligible' ? 'not-ok' : 'ok' }] },
		policy: { name: GROUPS[g][1], source: 'server', paused: false },
		patches: [],
		processes: [{ pid: 100 + (i % 5000), comm: 'svc', exe: '/usr/sbin/svc', unit: 'svc.service', targets: [{ path: '/usr/lib/libdemo.so.1', build_id: 'ab'.repeat(20), patch_id: kind === 'patched' ? 'demo-1' : null, level: kind === 'patched' ? 1 : 0, state: kind === 'not-eligible' ? 'ineligible' : kind, reason: null }] }],
		restart_required: i % 17 ? [] : [{ unit: 'svc.service', pid: 100, reason: 'deleted build' }],
		events: [],
	};
	r = await fetch(BASE + '/checkin', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + e.credential }, body: JSON.stringify(report) });
	if (r.status !== 200)
		throw new Error('checkin: ' + (await r.text()));
}

async function fill() {
	await prepare();
	const tokens = [];
	for (const [g] of GROUPS)
		tokens.push((await call('POST', '/tokens', { kind: 'enroll', name: 'perf-' + g + '-' + Date.now(), group: g })).secret);
	const start = (await call('GET', '/hosts?per_page=1')).total;
	let next = 0;
	const t0 = Date.now();
	const worker = async () => {
		while (next < N) {
			const i = start + next++;
			await oneHost(i, tokens);
			if (next % 5000 === 0)
				console.error(`# ${next} hosts, ${Math.round(next / ((Date.now() - t0) / 1000))}/s`);
		}
	};
	await Promise.all(Array.from({ length: 8 }, worker));
	console.log(`# added ${N} hosts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function measure() {
	const total = (await call('GET', '/hosts?per_page=1')).total;
	const tokens = (await call('POST', '/tokens', { kind: 'api', name: 'perf-viewer-' + Date.now(), role: 'read-only' })).secret;
	const api = [];
	for (let i = 0; i < RUNS; i++) {
		const t = performance.now();
		await call('GET', '/reports/policies');
		await call('GET', '/reports/trend?days=90');
		api.push(performance.now() - t);
	}
	const { chromium } = await import(path.join(process.env.HP_PLAYWRIGHT, 'index.mjs'));
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.HP_CHROMIUM || '/usr/bin/chromium', viewport: { width: 1440, height: 900 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.goto(url);
	await page.evaluate((t) => sessionStorage.setItem('hotpatch.token', t), tokens);
	const drawn = { overview: [], hosts: [] }, waited = { overview: [], hosts: [] }, own = { overview: [], hosts: [] };
	for (const name of ['overview', 'hosts']) {
		for (let i = -1; i < RUNS; i++) {	// run -1 warms the browser up and is not counted
			await page.goto('about:blank');
			await page.goto(url + '#/' + name);
			await page.waitForFunction((n) => performance.getEntriesByName('hp-drawn:' + n).length, name, { timeout: 30000 });
			// Split the time: until the last API answer arrived (server + network), and the
			// browser's own part (modules, parsing, building the DOM) around it.
			const t = await page.evaluate((n) => {
				const d = performance.getEntriesByName('hp-drawn:' + n)[0].startTime;
				const apiEnd = Math.max(0, ...performance.getEntriesByType('resource')
					.filter((e) => e.name.includes('/api/v1/') && e.responseEnd <= d).map((e) => e.responseEnd));
				const apiTime = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/reports/policies') || e.name.includes('/api/v1/hosts?'))
					.map((e) => e.responseEnd - e.startTime)[0] || 0;
				return { d, apiEnd, apiTime };
			}, name);
			if (i < 0)
				continue;
			drawn[name].push(t.d);
			waited[name].push(t.apiTime);
			own[name].push(t.d - t.apiTime);
		}
	}
	await ctx.close();
	fs.rmSync(profile, { recursive: true, force: true });
	const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(0);
	const max = (a) => Math.max(...a).toFixed(0);
	console.log(`hosts in the database: ${total}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
	console.log(`API /reports/policies + /reports/trend: median ${med(api)} ms, max ${max(api)} ms (${RUNS} runs)`);
	for (const [name, what] of [['overview', 'overview'], ['hosts', `hosts page (first 100 of ${total})`]]) {
		console.log(`${what} drawn after navigation start: median ${med(drawn[name])} ms, max ${max(drawn[name])} ms;` +
			` of which the main API request (${name === 'overview' ? '/reports/policies' : '/hosts'}) median ${med(waited[name])} ms,` +
			` the rest median ${med(own[name])} ms`);
	}
}

if (N > 0)
	await fill();
await measure();
