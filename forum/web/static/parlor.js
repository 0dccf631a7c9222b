// Parlor's one script. Every page works without it; it only adds conveniences.
// No inline handlers anywhere (the Content-Security-Policy forbids them): hooks are
// data- attributes, found here.
"use strict";

// <form data-confirm="Really?">: ask before submitting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// --- forum pages (reading and writing) ---
// <form data-once>: after it is sent, its submit button is disabled, so a double click
// does not post the same reply twice. Deferred, so the button's own value is still sent,
// and skipped when another handler (data-confirm) cancelled the submission.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !("once" in form.dataset)) {
    return;
  }
  window.setTimeout(() => {
    if (event.defaultPrevented) {
      return;
    }
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = true;
    }
  }, 0);
});
// Coming back to the page through the browser's history cache: the form is usable again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) {
    for (const button of document.querySelectorAll("form[data-once] button[type=submit]")) {
      button.disabled = false;
    }
  }
});

// --- member and staff pages ---
// <a href="…/admin/posts/7/ip" data-reveal-ip>: the logged reveal, fetched as JSON (the
// same route and the same audit entry as the page) and shown in place of the link. The
// value, when given, is the JSON URL; otherwise it is the link's own with ".json". On any
// failure the browser follows the link, whose page explains.
document.addEventListener("click", async (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-reveal-ip]") : null;
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  const page = new URL(link.href, document.baseURI);
  const json = link.dataset.revealIp ? new URL(link.dataset.revealIp, document.baseURI)
    : new URL(page.pathname + ".json", page);
  // The lookup page sits two levels up: …/admin/posts/7/ip -> …/admin/ip-lookup.
  const lookup = new URL("../../ip-lookup", page);
  try {
    const response = await fetch(json, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      throw new Error(String(response.status));
    }
    const data = await response.json();
    const shown = document.createElement("span");
    shown.className = "revealed-ip";
    shown.setAttribute("role", "status");
    const addressLink = (ip) => {
      if (!ip) {
        const none = document.createElement("span");
        none.textContent = "not kept";
        return none;
      }
      const a = document.createElement("a");
      a.href = `${lookup.pathname}?q=${encodeURIComponent(ip)}`;
      a.textContent = ip;
      return a;
    };
    shown.append("IP: ", addressLink(data.ip));
    for (const edit of data.edits || []) {
      shown.append(`, edit ${edit.version}: `, addressLink(edit.ip));
    }
    const details = document.createElement("a");
    details.href = link.href;
    details.textContent = "details";
    shown.append(" (", details, ")");
    link.replaceWith(shown);
  } catch {
    window.location.assign(link.href);
  }
});
