// The admin's training-run page: poll the run's progress JSON and update the bar in place,
// then show the candidate's metrics beside the champion's. An external file, not inline
// script, because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  var root = document.getElementById("training-run-progress");
  if (!root) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var interval = parseInt(root.getAttribute("data-poll-milliseconds"), 10) || 1000;
  var comparison = document.getElementById("training-run-comparison");

  function part(scope, role) {
    return scope ? scope.querySelector('[data-role="' + role + '"]') : null;
  }

  function setText(element, text) {
    if (element) {
      element.textContent = text;
    }
  }

  function renderComparison(state) {
    if (!comparison || !state.comparison || state.comparison.length === 0) {
      return;
    }
    setText(part(comparison, "candidate"), state.model_version ? "v" + state.model_version : "");
    setText(
      part(comparison, "champion"),
      state.active_version ? "v" + state.active_version : "(none)"
    );
    setText(part(comparison, "rows"), String(state.held_out_rows));
    if (state.gate_passed === true) {
      setText(part(comparison, "gate"), "Gates: passed.");
    } else if (state.gate_passed === false) {
      setText(part(comparison, "gate"), "Gates: DID NOT PASS — " + state.gate_reasons.join(" "));
    }
    var body = part(comparison, "rows-body");
    while (body.firstChild) {
      body.removeChild(body.firstChild);
    }
    state.comparison.forEach(function (cells) {
      var row = document.createElement("tr");
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        td.textContent = cell;
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    comparison.hidden = false;
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
      renderComparison(state);
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
