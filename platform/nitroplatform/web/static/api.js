// The platform's HTTP API, same origin. Unsafe requests carry the CSRF token from the readable cookie.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

let sessionCsrf = "";

/** Remember the CSRF token that /auth/login and /auth/me return (used when the cookie is not readable). */
export function rememberCsrfToken(token) {
  sessionCsrf = token || "";
}

/** The value of the readable `nitrosignal_csrf` cookie, else the token from /auth/me, else "". */
export function csrfToken() {
  const match = document.cookie.split("; ").find((part) => part.startsWith("nitrosignal_csrf="));
  return match ? decodeURIComponent(match.slice("nitrosignal_csrf=".length)) : sessionCsrf;
}

/** Fetch JSON from the API. Throws ApiError for HTTP errors and TypeError when the network is down. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) data = await response.json();
  if (!response.ok) throw new ApiError(response.status, data && (data.message ?? data.detail ?? data.code));
  return data;
}

/** Unwrap list responses that are either a bare array or an object holding one array ({items: [...]}). */
export function asList(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === "object") {
    for (const key of [...keys, "items", "results", "data"]) if (Array.isArray(data[key])) return data[key];
  }
  return [];
}
