// SPDX-License-Identifier: MIT
// The one place that talks to hotpatch-server's /api/v1: the token, errors, list shapes.

const TOKEN_KEY = 'hotpatch.token';

export class ApiError extends Error {
	constructor(status, kind, message) {
		super(message);
		this.status = status;
		this.kind = kind;
	}
}

// The token lives in sessionStorage: it is gone when the tab closes, and never in a URL or cookie
// (no cookie means no cross-site request can carry it).
export function token() {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
	if (t)
		sessionStorage.setItem(TOKEN_KEY, t);
	else
		sessionStorage.removeItem(TOKEN_KEY);
}

// Called with the ApiError when the server says the token is no longer good (401).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
	onUnauthorized = fn;
}

// Build the URL of an API path relative to the page, so a reverse proxy may mount the
// server under a prefix.
export function apiUrl(path, params) {
	const url = new URL('api/v1' + path, document.baseURI);
	for (const [k, v] of Object.entries(params || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		url.searchParams.set(k, String(v));
	}
	return url;
}

// One request.  Resolves to the parsed JSON (null for 204), rejects with ApiError.
export async function api(path, { method = 'GET', params, body, tokenOverride, signal } = {}) {
	const headers = { Accept: 'application/json' };
	const t = tokenOverride ?? token();
	if (t)
		headers.Authorization = 'Bearer ' + t;
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	let r;
	try {
		r = await fetch(apiUrl(path, params), {
			method, headers, signal, cache: 'no-store', credentials: 'omit',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', 'the server cannot be reached (' + e.message + ')');
	}
	if (r.status === 204)
		return null;
	const text = await r.text();
	let data = null;
	if (text) {
		try {
			data = JSON.parse(text);
		} catch {
			if (r.ok)
				throw new ApiError(r.status, 'json', 'the server answered something that is not JSON');
		}
	}
	if (!r.ok) {
		const err = new ApiError(r.status, data?.error?.kind || 'http',
			data?.error?.message || `${r.status} ${r.statusText}`);
		if (r.status === 401 && !tokenOverride)
			onUnauthorized(err);
		throw err;
	}
	return data;
}

// Lists come as {"items": [...], "total": N, ...} or as a bare array; read both.
export function items(data) {
	if (Array.isArray(data))
		return data;
	if (data && Array.isArray(data.items))
		return data.items;
	if (data && Array.isArray(data.rows))
		return data.rows;
	return [];
}

export function total(data) {
	if (data && typeof data.total === 'number')
		return data.total;
	return items(data).length;
}

// Every page of a paged list, for CSV export of a whole filtered table (per_page 1000, the
// server's maximum).  onProgress(n, total) is told as pages arrive.
export async function allPages(path, params, onProgress) {
	const out = [];
	for (let page = 1; ; page++) {
		const data = await api(path, { params: { ...params, page, per_page: 1000 } });
		const rows = items(data);
		out.push(...rows);
		const t = total(data);
		onProgress?.(out.length, t);
		if (rows.length === 0 || out.length >= t || !Array.isArray(data?.items))
			return out;
	}
}
