"use strict";
// The dashboard's only script: parts of a page that refresh themselves, and
// forms posted as JSON.
//
// Refreshing: an element with data-refresh="URL" gets its content replaced by
// the HTML fragment at URL every data-every milliseconds (the server renders
// it; this script never builds markup). It stops once the fragment holds an
// element marked data-final (a finished job changes no more), pauses while the
// tab is hidden, and keeps what it shows when a refresh fails. A session that
// ended answers with a redirect to the sign-in form: the whole page goes there.
//
// Forms: the app takes JSON request bodies only, so a form's fields (its CSRF
// token among them) are posted as one JSON object. A redirect is followed by
// the page; any other answer (the sign-in form again, a refusal) replaces it.
(() => {
  const refreshing = new WeakSet();

  const schedule = (element) => {
    if (!element.isConnected || element.querySelector("[data-final]")) {
      return;
    }
    const every = Number(element.dataset.every) || 2000;
    window.setTimeout(() => refresh(element), every);
  };

  const refresh = async (element) => {
    if (!document.hidden && element.isConnected) {
      try {
        const response = await fetch(element.dataset.refresh, {
          credentials: "same-origin",
          cache: "no-store",
        });
        if (response.redirected) {
          window.location.assign(response.url);
          return;
        }
        if (response.ok) {
          element.innerHTML = await response.text();
        }
      } catch (error) {
        // The server is unreachable for a moment: try again at the next turn.
      }
    }
    schedule(element);
  };

  const start = () => {
    document.querySelectorAll("[data-refresh]").forEach((element) => {
      if (!refreshing.has(element)) {
        refreshing.add(element);
        schedule(element);
      }
    });
  };

  const post = async (form) => {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.fromEntries(new FormData(form))),
      });
      if (response.redirected) {
        window.location.assign(response.url);
        return;
      }
      document.documentElement.innerHTML = await response.text();
      start();
    } catch (error) {
      form.querySelectorAll("button").forEach((button) => { button.disabled = false; });
    }
  };

  // On the document, so forms of a page that replaced this one are posted too.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.method === "post") {
      event.preventDefault();
      form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
      post(form);
    }
  });

  start();
})();
