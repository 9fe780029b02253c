(function () {
  "use strict";
  // One page at a time. Slides are scaled to fit the frame whole; document sheets
  // reflow at the frame's width (viewer.css). Buttons, arrow keys, Page Up/Down,
  // Home/End and swipes move; the address keeps the page (#page=N).
  var body = document.body;
  var stage = document.getElementById("nxv-stage");
  var frame = document.getElementById("nxv-frame");
  var prev = document.getElementById("nxv-prev");
  var next = document.getElementById("nxv-next");
  var counter = document.getElementById("nxv-counter");
  var pages = Array.prototype.slice.call(document.querySelectorAll("body > section.page"));
  var slides = body.classList.contains("presentation");
  var moves = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
  var current = 0;
  var touch = null;
  if (!pages.length) {
    return;
  }
  pages.forEach(function (page) {
    frame.appendChild(page);
  });
  body.classList.add("nxv-on");

  function fit() {
    if (!slides) {
      return;
    }
    var page = pages[current];
    var width = page.offsetWidth;
    var height = page.offsetHeight;
    var style = window.getComputedStyle(stage);
    var roomX = stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    var roomY = stage.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    var across = roomX / width;
    var down = roomY / height;
    var scale = Math.min(across, down);
    if (!(scale > 0) || !isFinite(scale)) {
      scale = 1;
    }
    page.style.transform = "scale(" + scale + ")";
    frame.style.width = width * scale + "px";
    frame.style.height = height * scale + "px";
  }

  function show(index) {
    current = Math.max(0, Math.min(pages.length - 1, index));
    pages.forEach(function (page, i) {
      page.hidden = i !== current;
    });
    counter.textContent = current + 1 + " / " + pages.length;
    prev.disabled = current === 0;
    next.disabled = current === pages.length - 1;
    fit();
    stage.scrollTop = 0;
    try {
      window.history.replaceState(null, "", "#page=" + (current + 1));
    } catch (ignored) {
      // An opaque origin may refuse it; the page still moves.
    }
  }

  prev.addEventListener("click", function () {
    show(current - 1);
  });
  next.addEventListener("click", function () {
    show(current + 1);
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
      show(current + moves[event.key]);
    } else if (event.key === "Home") {
      show(0);
    } else if (event.key === "End") {
      show(pages.length - 1);
    } else {
      return;
    }
    event.preventDefault();
  });
  stage.addEventListener(
    "touchstart",
    function (event) {
      var point = event.touches.length === 1 ? event.touches[0] : null;
      touch = point ? [point.clientX, point.clientY] : null;
    },
    { passive: true }
  );
  stage.addEventListener("touchend", function (event) {
    var point = event.changedTouches[0];
    if (!touch || !point) {
      return;
    }
    var dx = point.clientX - touch[0];
    var dy = point.clientY - touch[1];
    touch = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) {
      show(current + (dx < 0 ? 1 : -1));
    }
  });
  window.addEventListener("resize", fit);
  window.addEventListener("load", fit);

  var asked = /^#page=(\d+)$/.exec(window.location.hash);
  show(asked ? parseInt(asked[1], 10) - 1 : 0);
})();
