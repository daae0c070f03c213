/* The API from the pages: JSON in, JSON out, refusals as the API words them for the page
 * (error.text, in its language) or by their code. */

// GET over a signed-in page's session: a 401 rejects with "signed-out", another failure with the
// refusal's text, or the bare status
export function getJSON(url) {
  return fetch(url, { credentials: "same-origin" }).then((r) => {
    if (r.status === 401) throw new Error("signed-out");
    return r.json().catch(() => { throw new Error(String(r.status)); }).then((data) => {
      if (!r.ok) throw new Error(data.error ? data.error.text || String(r.status) : String(r.status));
      return data;
    });
  });
}

// a POST from a signed-in page carries the session's CSRF token; resolves with what happened
// (parsed: the answer was JSON), the field the API named when it refused, and why
export function postJSON(url, body, csrf) {
  return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } })
    .then((r) => r.json().then((data) => ({ data, parsed: true }), () => ({ data: {}, parsed: false }))
      .then(({ data, parsed }) => {
        const error = data && data.error;
        return { ok: r.ok, status: r.status, data, parsed, field: error ? error.field : null,
          why: error ? error.text || String(r.status) : String(r.status) };
      }));
}

// the public pages' calls (no session): {ok, status, data}, data {} when the answer is not JSON,
// status 0 when the request never reached the server
export function request(method, url, body) {
  return fetch(url, { method, body: body ? JSON.stringify(body) : undefined,
    headers: { "Content-Type": "application/json" } })
    .then((r) => r.json().catch(() => ({})).then((data) => ({ ok: r.ok, status: r.status, data })),
      () => ({ ok: false, status: 0, data: {} }));
}
