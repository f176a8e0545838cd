/* adunion tag: async, lazy, SPA-friendly.
 * Embed: <ins class="adunion-slot" data-adunion-slot="SLOT_ID"></ins>
 *        <script async src="BASE/tag.js"></script>
 * Optional attributes: data-adunion-keywords="a,b". window.adunion.refresh() re-scans the page
 * (single-page apps); window.adunion.refresh(true) re-renders slots already filled. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/\/tag\.js(\?.*)?$/, "") : "";
  if (window.adunion && window.adunion.base === base) { window.adunion.refresh(); return; }

  function visitorId() {
    var key = "adunion_vid", id = null;
    try { id = window.localStorage.getItem(key); } catch (e) { id = null; }
    if (!id) {
      id = "v" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      try { window.localStorage.setItem(key, id); } catch (e) { /* private mode: per page */ }
    }
    return id;
  }
  var visitor = visitorId();

  function beacon(url) {
    if (navigator.sendBeacon && navigator.sendBeacon(url)) { return; }
    var img = new Image(1, 1); img.src = url;
  }

  function render(el, ad) {
    el.innerHTML = "";
    el.setAttribute("data-adunion-status", ad.filled ? "filled" : "unfilled");
    if (!ad.filled) { el.setAttribute("data-adunion-reason", ad.reason || ""); return; }
    var c = ad.creative, node;
    if (c.kind === "html") {
      node = document.createElement("iframe");
      node.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
      node.srcdoc = String(c.html).split("%%CLICK_URL%%").join(ad.click_url);
      node.style.border = "0"; node.style.width = "100%";
      if (c.height) { node.style.height = c.height + "px"; }
    } else {
      node = document.createElement("a");
      node.href = ad.click_url; node.target = "_blank"; node.rel = "noopener sponsored";
      if (c.kind === "image") {
        var img = document.createElement("img");
        img.src = c.image_url; img.alt = c.title || "";
        img.style.maxWidth = "100%"; img.style.height = "auto"; img.style.border = "0";
        node.appendChild(img);
      } else {
        var title = document.createElement("strong"); title.textContent = c.title || "";
        var body = document.createElement("span"); body.textContent = " " + (c.body || "");
        node.appendChild(title); node.appendChild(body);
      }
    }
    node.className = "adunion-ad";
    el.appendChild(node);
    el.setAttribute("data-adunion-offer", ad.offer);
    beacon(ad.view_url);
    if (ad.viewable_url) { watchViewable(el, ad.viewable_url); }
  }

  /* IAB/MRC viewability: at least half of the ad in view for one continuous second. */
  function watchViewable(el, url) {
    if (!("IntersectionObserver" in window)) { return; }
    var timer = null;
    var watcher = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.intersectionRatio >= 0.5 && timer === null) {
          timer = setTimeout(function () {
            watcher.disconnect();
            el.setAttribute("data-adunion-viewable", "1");
            beacon(url);
          }, 1000);
        } else if (entry.intersectionRatio < 0.5 && timer !== null) {
          clearTimeout(timer); timer = null;
        }
      });
    }, { threshold: [0, 0.5, 1] });
    watcher.observe(el);
  }

  function load(el) {
    var slot = el.getAttribute("data-adunion-slot");
    if (!slot) { return; }
    el.setAttribute("data-adunion-status", "loading");
    var q = "slot=" + encodeURIComponent(slot) + "&visitor=" + encodeURIComponent(visitor) +
      "&url=" + encodeURIComponent(location.href.slice(0, 1000)) +
      "&keywords=" + encodeURIComponent(el.getAttribute("data-adunion-keywords") || "");
    fetch(base + "/api/v1/decision?" + q, { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (ad) { render(el, ad); })
      .catch(function () { el.setAttribute("data-adunion-status", "error"); });
  }

  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); load(entry.target); }
    });
  }, { rootMargin: "200px" }) : null;

  function scan(force) {
    var els = document.querySelectorAll("ins.adunion-slot[data-adunion-slot]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.getAttribute("data-adunion-status") && !force) { continue; }
      el.setAttribute("data-adunion-status", "waiting");
      if (!el.style.display) { el.style.display = "block"; }
      if (observer) { observer.observe(el); } else { load(el); }
    }
  }

  window.adunion = { base: base, refresh: function (force) { scan(!!force); } };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(false); });
  } else { scan(false); }
})();
