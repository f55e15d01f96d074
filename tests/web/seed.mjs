// SPDX-License-Identifier: MIT
// Seed a real hotpatch-server through its API the way a fleet fills it: policies and groups,
// an imported repository index, hosts that enroll and check in with agent reports (every host
// state of docs/protocol.md occurs), releases to rings, and a crashing patch that halts its
// release by itself (evidence).  Prints a JSON summary on stdout.
//
//   node seed.mjs URL ADMIN_TOKEN [--hosts-scale N]
// Each reported host is a plain agent report (docs/protocol.md), so the server classifies it.

let url, admin, BASE;

// The server to talk to and the admin token (the first one comes from hotpatch-server create-token).
export function configure(serverUrl, adminToken) {
	url = serverUrl;
	admin = adminToken;
	BASE = url.replace(/\/$/, '') + '/api/v1';
}

export async function call(method, path, body, token = admin) {
	const r = await fetch(BASE + path, {
		method,
		headers: { Authorization: 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await r.text();
	if (!r.ok)
		throw new Error(`${method} ${path}: ${r.status} ${text}`);
	return text ? JSON.parse(text) : null;
}

const hex = (seed, n) => {
	let s = '';
	let x = seed >>> 0 || 1;
	while (s.length < n) {
		x = (Math.imul(x, 1103515245) + 12345) >>> 0;
		s += (x >>> 8).toString(16).padStart(6, '0');
	}
	return s.slice(0, n);
};

const BUILD_DEMO = hex(11, 40);	// libdemo.so.1 as shipped
const BUILD_SSL = hex(22, 40);	// libssl.so.3 as shipped
const BUILD_OTHER = hex(33, 40);	// a build no patch targets
export const HOSTILE_COMM = '<img src=x onerror="window.__xss=1">';
export const HOSTILE_UNIT = '=HYPERLINK("http://example.invalid","x")';
export const HOSTILE_REASON = '</td><script>window.__xss=2</script>"quoted", comma';
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const INDEX = {
	version: 1,
	patches: [
		{ id: 'libdemo-cve-2026-1001', build_id: BUILD_DEMO, level: 1, target: 'libdemo.so.1', package: 'libdemo1', version: '1.2-3',
			classification: 'security', cves: ['CVE-2026-1001'], sha256: hex(1, 64), url: 'libdemo-cve-2026-1001.hpatch', released: '2026-12-01T00:00:00Z' },
		{ id: 'libdemo-cve-2026-1002', build_id: BUILD_DEMO, level: 2, target: 'libdemo.so.1', package: 'libdemo1', version: '1.2-3',
			classification: 'critical', cves: ['CVE-2026-1001', 'CVE-2026-1002'], sha256: hex(2, 64), url: 'libdemo-cve-2026-1002.hpatch', released: '2026-12-03T00:00:00Z' },
		{ id: 'libssl-cve-2026-2001', build_id: BUILD_SSL, level: 1, target: 'libssl.so.3', package: 'libssl3', version: '3.0.15-1',
			classification: 'security', cves: ['CVE-2026-2001'], sha256: hex(3, 64), url: 'libssl-cve-2026-2001.hpatch', released: '2026-12-04T00:00:00Z' },
	],
};

const policy = (name, extra = {}) => ({
	version: 1, name, apply_without_restart: true, auto_classifications: ['critical', 'security'],
	deferral_days: 0, deadline_days: 7, windows: [], timezone: null, paused: false, restart: 'never',
	never_restart: [], health: { bake_seconds: 600, crash_threshold: 1 }, ...extra,
});

// The host kinds of the fleet: how its agent reports.
function report(h, extra = {}) {
	const procs = [];
	const patches = [];
	const t = (path, build, state, patch = null, level = 0, reason = null) => ({ path, build_id: build, patch_id: patch, level, state, reason });
	switch (h.kind) {
	case 'hotpatched':
		patches.push({ patch_id: 'libdemo-cve-2026-1001', level: 1, build_id: BUILD_DEMO, target: 'libdemo.so.1', classification: 'security', cves: ['CVE-2026-1001'], state: 'applied', halted_reason: null });
		procs.push({ pid: 1201, comm: 'nginx', exe: '/usr/sbin/nginx', unit: 'nginx.service', targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'patched', 'libdemo-cve-2026-1001', 1)] });
		procs.push({ pid: 1202, comm: 'nginx', exe: '/usr/sbin/nginx', unit: 'nginx.service', targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'patched', 'libdemo-cve-2026-1001', 1)] });
		break;
	case 'vulnerable':
		procs.push({ pid: 2301, comm: 'haproxy', exe: '/usr/sbin/haproxy', unit: 'haproxy.service', targets: [t('/usr/lib/x86_64-linux-gnu/libssl.so.3', BUILD_SSL, 'ineligible', null, 0, 'no patch installed for this build')] });
		procs.push({ pid: 2302, comm: 'demo-worker', exe: '/usr/bin/demo-worker', unit: 'demo.service', targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'ineligible', null, 0, 'no patch installed for this build')] });
		break;
	case 'in-progress':
		procs.push({ pid: 3101, comm: 'postgres', exe: '/usr/lib/postgresql/15/bin/postgres', unit: 'postgresql@15-main.service', targets: [t('/usr/lib/x86_64-linux-gnu/libssl.so.3', BUILD_SSL, 'pending', 'libssl-cve-2026-2001', 1, 'waiting for the maintenance window')] });
		break;
	case 'failed':
		procs.push({ pid: 4101, comm: 'redis-server', exe: '/usr/bin/redis-server', unit: 'redis-server.service', targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'failed', 'libdemo-cve-2026-1001', 1, 'a thread stayed inside a patched function for 5 s')] });
		// An agent's strings are hostile input: the dashboard must show them as text.
		procs.push({ pid: 4102, comm: HOSTILE_COMM, exe: '/tmp/=cmd|calc', unit: HOSTILE_UNIT, targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'failed', 'libdemo-cve-2026-1001', 1, HOSTILE_REASON)] });
		break;
	case 'restart':
		procs.push({ pid: 5101, comm: 'java', exe: '/usr/lib/jvm/java-17/bin/java', unit: 'tomcat.service', targets: [t('/usr/lib/x86_64-linux-gnu/libdemo.so.1', BUILD_DEMO, 'restart-required', null, 0, 'runs a deleted build of libdemo.so.1')] });
		break;
	default:
		procs.push({ pid: 6101, comm: 'sshd', exe: '/usr/sbin/sshd', unit: 'ssh.service', targets: [t('/usr/lib/x86_64-linux-gnu/libother.so.2', BUILD_OTHER, 'ineligible', null, 0, 'no patch for this build')] });
	}
	const notReady = h.kind === 'not-ready';
	return {
		protocol: 1,
		host: { host_id: h.host_id, hostname: h.hostname, machine_id: h.machine_id, agent_version: '0.1.0', kernel: h.kernel, arch: 'x86_64', time: now() },
		assessment: {
			time: now(), verdict: notReady ? 'not-eligible' : 'eligible',
			checks: [
				{ name: 'ptrace_scope', result: notReady ? 'not-ok' : 'ok', value: notReady ? '3' : '1', reason: notReady ? 'kernel.yama.ptrace_scope is 3: no process can be traced' : '', remedy: notReady ? 'set kernel.yama.ptrace_scope to 1 and reboot' : '' },
				{ name: 'seccomp', result: 'ok', value: 'no filter blocks ptrace', reason: '', remedy: '' },
			],
		},
		policy: { name: h.policy ?? null, source: 'server', paused: false },
		patches,
		processes: procs,
		restart_required: h.kind === 'restart' ? [{ unit: 'tomcat.service', pid: 5101, reason: 'runs a deleted build of libdemo.so.1' }] : [],
		events: [],
		...extra,
	};
}

export async function enroll(enrollToken, h) {
	const r = await fetch(BASE + '/enroll', {
		method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ protocol: 1, token: enrollToken, hostname: h.hostname, machine_id: h.machine_id, agent_version: '0.1.0' }),
	});
	const j = await r.json();
	if (r.status !== 201)
		throw new Error('enroll ' + h.hostname + ': ' + JSON.stringify(j));
	h.host_id = j.host_id;
	h.credential = j.credential;
	return h;
}

export async function checkin(h, extra) {
	return call('POST', '/checkin', report(h, extra), h.credential);
}

// The fleet: [hostname prefix, group, policy (for the report only), kinds in turn, count].
const FLEET = [
	['web', 'web', 'prod-web', ['hotpatched', 'hotpatched', 'vulnerable', 'restart', 'hotpatched', 'failed', 'up-to-date'], 14],
	['db', 'db', 'prod-db', ['up-to-date', 'vulnerable', 'not-ready'], 6],
	['canary', 'canary', 'staging', ['up-to-date', 'hotpatched', 'vulnerable'], 4],
	['legacy', 'legacy', 'frozen', ['vulnerable', 'restart'], 3],
	['lab', null, null, ['not-ready', 'up-to-date', 'in-progress'], 3],
];

export async function seed() {
	const out = { url, tokens: { admin }, hosts: [], releases: {} };
	out.tokens.viewer = (await call('POST', '/tokens', { kind: 'api', name: 'viewer', role: 'read-only' })).secret;
	out.tokens.operator = (await call('POST', '/tokens', { kind: 'api', name: 'operator', role: 'operator' })).secret;
	out.tokens.enroll = (await call('POST', '/tokens', { kind: 'enroll', name: 'fleet' })).secret;
	await call('POST', '/policies', policy('prod-web'));
	await call('POST', '/policies', policy('prod-db', { restart: 'in-window', windows: [{ days: ['sat'], start: '02:00', duration_minutes: 120 }] }));
	await call('POST', '/policies', policy('staging', { deferral_days: 0, deadline_days: 1 }));
	await call('POST', '/policies', policy('frozen', { paused: true }));
	for (const [g, p] of [['web', 'prod-web'], ['db', 'prod-db'], ['canary', 'staging'], ['legacy', 'frozen']])
		await call('POST', '/groups', { name: g, description: `${g} servers`, policy: p, max_parallel_percent: 50 });
	await call('POST', '/patches/import', { index: INDEX });

	let n = 0;
	for (const [prefix, group, pol, kinds, count] of FLEET) {
		for (let i = 1; i <= count; i++) {
			n++;
			const h = {
				hostname: `${prefix}-${String(i).padStart(2, '0')}.example.net`, machine_id: hex(1000 + n, 32),
				kind: kinds[(i - 1) % kinds.length], group, policy: pol, kernel: i % 3 ? '6.1.0-28-amd64' : '6.1.0-27-amd64',
			};
			await enroll(out.tokens.enroll, h);
			if (group)
				await call('PATCH', '/hosts/' + h.host_id, { group, labels: i % 2 ? ['rack-a'] : ['rack-b'] });
			await checkin(h);
			out.hosts.push(h);
		}
	}

	// A release that is rolling: pilot (canary) bakes and promotes at once, "broad" (web) bakes an hour.
	const r1 = await call('POST', '/releases', { patch_id: 'libdemo-cve-2026-1001', max_parallel_percent: 50, rings: [
		{ name: 'pilot', group: 'canary', bake_seconds: 0, failure_threshold: 1 },
		{ name: 'early', group: 'web', bake_seconds: 3600, failure_threshold: 2 },
		{ name: 'broad', percent: 100, bake_seconds: 7200, failure_threshold: 5 },
	] });
	// A release whose pilot ring crashes: it halts by itself with the evidence.
	const r2 = await call('POST', '/releases', { patch_id: 'libdemo-cve-2026-1002', rings: [
		{ name: 'pilot', group: 'db', bake_seconds: 600, failure_threshold: 1 },
		{ name: 'broad', percent: 100, bake_seconds: 3600, failure_threshold: 3 },
	] });
	// A release for the operator to halt from the page.
	const r3 = await call('POST', '/releases', { patch_id: 'libssl-cve-2026-2001', rings: [
		{ name: 'pilot', group: 'canary', bake_seconds: 86400, failure_threshold: 1 },
		{ name: 'broad', group: 'web', bake_seconds: 3600, failure_threshold: 3 },
	] });
	out.releases = { rolling: r1.id, crashed: r2.id, manual: r3.id };

	// Check-ins after the releases: canary hosts get their assignments; db hosts apply the
	// crashing patch and report the crash (then revert, as the agent does).
	let eventId = 100;
	for (const h of out.hosts.filter((x) => x.group === 'canary' || x.group === 'db'))
		await checkin(h);
	for (const h of out.hosts.filter((x) => x.group === 'db' && x.kind !== 'not-ready').slice(0, 2)) {
		eventId++;
		await checkin(h, {
			events: [
				{ id: eventId, time: now(), kind: 'applied', patch_id: 'libdemo-cve-2026-1002', pid: 7001, detail: 'level 2 applied to postgres' },
				{ id: eventId + 50, time: now(), kind: 'crash', patch_id: 'libdemo-cve-2026-1002', pid: 7001, detail: 'SIGSEGV in demo_parse+0x41 (patched code) 40 s after apply; reverted' },
			],
		});
	}
	// The crash halts its release at the server's next rollout tick: wait for it (30 s at most).
	for (let i = 0; i < 300; i++) {
		if ((await call('GET', '/releases/' + r2.id)).state === 'halted')
			break;
		await new Promise((res) => setTimeout(res, 100));
	}
	return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	if (process.argv.length < 4) {
		console.error('usage: node seed.mjs URL ADMIN_TOKEN');
		process.exit(2);
	}
	configure(process.argv[2], process.argv[3]);
	seed().then((o) => console.log(JSON.stringify(o, null, 1))).catch((e) => {
		console.error('seed: ' + e.message);
		process.exit(1);
	});
}
