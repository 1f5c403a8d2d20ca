// A page's live updates (issue 18): one stream per page through htmx's SSE
// extension (#live-stream, whose #live-sink swaps each `live` message's
// out-of-band fragments), or, where no stream can be held (the server answers
// 204, a proxy buffers it, it fails before saying hello), a poll of the same
// fragments (#live-poll) every 2 s while something is in flight, 10 s otherwise.
// #live-cursor holds the newest event number the page has applied; every
// message moves it, and a new stream or poll asks for what came after it.
(function () {
  "use strict";
  var HELLO_WAIT_MS = 4000;
  var POLL_BUSY_MS = 2000;
  var POLL_IDLE_MS = 10000;
  var HIDDEN_CLOSE_MS = 60000;
  var BYE_RECONNECT_MS = 2000;
  var IN_FLIGHT = "progress, .status-queued, .status-submitting, .status-running, .status-ingesting";

  var polling = false;
  var pollTimer = null;
  var hiddenTimer = null;
  var sleeping = false;

  function cursor() {
    var el = document.getElementById("live-cursor");
    return el ? el.getAttribute("data-seq") || "0" : "0";
  }

  function setCursor(seq) {
    var el = document.getElementById("live-cursor");
    if (el && /^\d+$/.test(seq)) el.setAttribute("data-seq", seq);
  }

  function withLast(url) {
    // The extension makes a new EventSource after a failed reconnect, which
    // sends no Last-Event-ID: the page's own cursor says where it was.
    var bare = url.replace(/([?&])last=\d*(&|$)/, "$1").replace(/[?&]$/, "");
    return bare + (bare.indexOf("?") < 0 ? "?" : "&") + "last=" + cursor();
  }

  htmx.createEventSource = function (url) {
    var source = new EventSource(withLast(url), { withCredentials: true });
    var greeted = false;
    var wait = window.setTimeout(function () {
      if (!greeted) fallBack(source); // a buffering proxy holds the hello back
    }, HELLO_WAIT_MS);
    source.addEventListener("hello", function (event) {
      greeted = true;
      window.clearTimeout(wait);
      setCursor(event.data);
    });
    source.addEventListener("error", function () {
      if (!greeted) {
        window.clearTimeout(wait);
        fallBack(source); // 204 (no server here holds streams), 404, a refused connection
      }
    });
    source.addEventListener("reset", function () {
      window.location.reload(); // too far behind to replay: draw the page again
    });
    source.addEventListener("bye", function () {
      // The server ends the stream (it stops, or the stream is old): open another.
      source.close();
      window.setTimeout(reopen, BYE_RECONNECT_MS);
    });
    return source;
  };

  function streamElement() {
    return document.getElementById("live-stream");
  }

  function closeStream() {
    var el = streamElement();
    var data = el && el["htmx-internal-data"]; // where htmx 2 keeps the extension's source
    var source = data && data.sseEventSource;
    if (source) source.close();
  }

  function reopen() {
    // A fresh copy of the stream element: htmx closes the old one's source and
    // connects the new one, through createEventSource above (with `last`).
    var el = streamElement();
    if (!el || polling || !el.hasAttribute("sse-connect")) return;
    var copy = el.cloneNode(true);
    el.replaceWith(copy);
    htmx.process(copy);
  }

  function fallBack(source) {
    source.close();
    var el = streamElement();
    if (el) el.removeAttribute("sse-connect");
    if (polling) return;
    polling = true;
    schedulePoll();
  }

  var pollPace = null;

  function busy() {
    return document.querySelector(IN_FLIGHT) !== null;
  }

  function schedulePoll() {
    window.clearTimeout(pollTimer);
    if (sleeping) return;
    pollPace = busy() ? POLL_BUSY_MS : POLL_IDLE_MS;
    pollTimer = window.setTimeout(poll, pollPace);
  }

  function poll() {
    var el = document.getElementById("live-poll");
    if (el) htmx.trigger(el, "live-poll");
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "live-poll") {
      event.detail.parameters.after = cursor();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== "live-poll") return;
    if (document.getElementById("live-reset")) {
      window.location.reload();
      return;
    }
    schedulePoll(); // after each answer (or failure), the next, at the page's pace
  });

  // Something else put a job in flight on the page (the member's own Generate):
  // a page polling at the idle pace follows it at the busy pace from now on.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt && event.detail.elt.id === "live-poll") return;
    if (polling && !sleeping && pollPace === POLL_IDLE_MS && busy()) schedulePoll();
  });

  // A new card can come twice (the create answer and the stream, or the poll and
  // the old refresh): the first in the grid is the newest drawing, the rest go.
  function dedupe() {
    var seen = {};
    document.querySelectorAll("#job-grid > .job-card").forEach(function (card) {
      if (seen[card.id]) card.remove();
      else seen[card.id] = true;
    });
  }
  document.addEventListener("htmx:oobAfterSwap", dedupe);
  document.addEventListener("htmx:afterSwap", dedupe);

  // A tab out of sight for a minute lets its stream go (browsers allow six per
  // site); back in sight, it opens another from where it was.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      hiddenTimer = window.setTimeout(function () {
        sleeping = true;
        window.clearTimeout(pollTimer);
        closeStream();
      }, HIDDEN_CLOSE_MS);
      return;
    }
    window.clearTimeout(hiddenTimer);
    if (!sleeping) return;
    sleeping = false;
    if (polling) poll();
    else reopen();
  });
})();
