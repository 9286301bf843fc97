// The admin's training-run page: poll the run's progress JSON and update the bar in place,
// then refresh the record (the candidate's metrics beside the champion's among it). An external file, not inline
// script, because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  var root = document.getElementById("training-run-progress");
  if (!root) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var interval = parseInt(root.getAttribute("data-poll-milliseconds"), 10) || 1000;
  var MAX_REFRESH_ATTEMPTS = 5; // then the bar says "succeeded" and a reload shows the rest

  function part(scope, role) {
    return scope ? scope.querySelector('[data-role="' + role + '"]') : null;
  }

  function setText(element, text) {
    if (element) {
      element.textContent = text;
    }
  }

  // Once the run has finished, every field of the record below the bar (status, candidate,
  // gates, times) has changed too: fetch this page again and swap its content in place, so
  // nothing stays at what it said when the page was opened, and no reload loses the scroll.
  var refreshAttempts = 0;

  function refreshRecord() {
    refreshAttempts += 1;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected) {
          // Signed out meanwhile (the admin sent its log-in page): let the browser go there.
          window.location.reload();
          throw new Error("redirected to " + response.url);
        }
        if (!response.ok) {
          throw new Error("the run's page answered " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["#content", ".breadcrumbs"].forEach(function (selector) {
          var now = document.querySelector(selector);
          var then = fresh.querySelector(selector);
          if (now && then) {
            now.replaceWith(document.importNode(then, true));
          }
        });
        document.title = fresh.title;
      })
      .catch(function () {
        if (refreshAttempts < MAX_REFRESH_ATTEMPTS) {
          window.setTimeout(refreshRecord, interval * 3);
        }
      });
  }

  function render(state) {
    var bar = part(root, "bar");
    bar.value = state.progress_percent;
    setText(bar, state.progress_percent + " %");
    setText(part(root, "percent"), state.progress_percent + " %");
    setText(part(root, "status"), state.status);
    setText(part(root, "stage"), state.stage && !state.finished ? ": " + state.stage : "");
    var message = part(root, "message");
    setText(message, state.message || "");
    message.hidden = !state.message;
    root.setAttribute("data-finished", state.finished ? "true" : "false");
    if (state.finished) {
      refreshRecord();
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress answered " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        render(state);
        if (!state.finished) {
          window.setTimeout(poll, interval);
        }
      })
      .catch(function () {
        window.setTimeout(poll, interval * 3);
      });
  }

  if (root.getAttribute("data-finished") !== "true") {
    poll();
  }
})();
