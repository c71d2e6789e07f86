// The PO table of report.html: data from the JSON above, one page in the DOM at a time.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var HIDDEN = new RegExp(data.hidden, "g");
  var SIZE = data.pageSize;
  var view = { status: "", supplier: "", q: "", onlyNew: false, key: "", desc: false, page: 0 };
  var body = document.getElementById("rows");
  var $ = function (id) { return document.getElementById(id); };
  var each = function (selector, fn) { document.querySelectorAll(selector).forEach(fn); };

  // One object per PO, with what filtering and sorting need worked out once.
  var all = data.rows.map(function (r, i) {
    var bytes = 0, fresh = false, hay = ("po" + r[0]).toLowerCase();
    r[4].forEach(function (f) { bytes += f[2]; fresh = fresh || f[3] === 1; });
    var names = r[4].map(function (f) { return f[0].toLowerCase(); });
    return { i: i, po: r[0], status: data.statuses[r[1]], sup: r[2], folder: r[3],
      files: r[4], code: r[5], msg: r[6], found: r[7], bytes: bytes, fresh: fresh,
      hay: hay, names: names };
  });
  var shown = all;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) put(node, text);
    return node;
  }
  // Text with bidi and control characters shown as U+XXXX codes (as the page's other text).
  function put(node, text) {
    var last = 0, m;
    HIDDEN.lastIndex = 0;
    while ((m = HIDDEN.exec(text)) !== null) {
      if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
      var code = m[0].charCodeAt(0).toString(16).toUpperCase();
      node.appendChild(el("span", "ctl", "U+" + "0000".slice(code.length) + code));
      last = m.index + 1;
    }
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }
  function bdi(text) { return el("bdi", "", text); }
  // Python's quote(s, safe=""): the row ids the failure links point at.
  function enc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function size(n) {
    if (n < 1024) return n + " B";
    var v = n / 1024, units = ["KB", "MB", "GB"], u = 0;
    while (v >= 1024 && u < 2) { v /= 1024; u += 1; }
    return v.toFixed(1) + " " + units[u];
  }
  function link(href, child, cls) {
    var a = el("a", cls);
    a.href = href;
    a.appendChild(child);
    return a;
  }

  function filesCell(row) {
    var td = el("td");
    if (!row.files.length) {
      td.appendChild(el("span", "none", row.found ? row.found + " found, none saved" : "none"));
      return td;
    }
    td.appendChild(el("span", "count", row.files.length + " of " + row.found));
    var ul = el("ul", "files");
    row.files.forEach(function (f) {
      var li = el("li"), label = bdi(f[0]);
      li.appendChild(f[1] === null ? label : link(row.folder + "/" + f[1], label));
      li.appendChild(document.createTextNode(" "));
      var s = el("span", "size", size(f[2]));
      s.title = f[2] + " bytes";
      li.appendChild(s);
      if (f[3] === 1) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "new", "new")); }
      ul.appendChild(li);
    });
    td.appendChild(ul);
    return td;
  }
  function rowElement(row) {
    var tr = el("tr", "po");
    tr.id = "po-" + enc(row.po);
    var first = el("td"), label = document.createTextNode("PO");
    var po = el("span", "", row.po);
    if (row.folder) {
      var a = link(row.folder + "/", label, "folder");
      a.appendChild(po);
      first.appendChild(a);
    } else { first.appendChild(label); first.appendChild(po); }
    tr.appendChild(first);
    var st = el("td");
    st.appendChild(el("span", "st st-" + row.status, row.status));
    tr.appendChild(st);
    var sup = el("td", "supplier");
    sup.appendChild(bdi(data.suppliers[row.sup]));
    tr.appendChild(sup);
    tr.appendChild(filesCell(row));
    tr.appendChild(el("td", "num", row.files.length ? size(row.bytes) : ""));
    var err = el("td");
    if (row.code) { err.appendChild(el("code", "", row.code)); put(err, " " + row.msg); }
    tr.appendChild(err);
    return tr;
  }

  var compare = {
    po: function (a, b) {
      var x = a.po, y = b.po;
      if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
      return x < y ? -1 : x > y ? 1 : 0;
    },
    status: function (a, b) { return a.status < b.status ? -1 : a.status > b.status ? 1 : 0; },
    supplier: function (a, b) {
      var x = data.suppliers[a.sup], y = data.suppliers[b.sup];
      return x < y ? -1 : x > y ? 1 : 0;
    },
    files: function (a, b) { return a.files.length - b.files.length; },
    size: function (a, b) { return a.bytes - b.bytes; },
    error: function (a, b) { return a.code < b.code ? -1 : a.code > b.code ? 1 : 0; }
  };

  function matches(row) {
    if (view.status && row.status !== view.status) return false;
    if (view.supplier !== "" && row.sup !== Number(view.supplier)) return false;
    if (view.onlyNew && !row.fresh) return false;
    if (!view.q) return true;
    return row.hay.indexOf(view.q) >= 0 || row.names.some(function (n) { return n.indexOf(view.q) >= 0; });
  }
  // Filter and sort everything again (a few ms for 10,000 POs), then draw one page.
  function apply() {
    shown = all.filter(matches);
    if (view.key) {
      var by = compare[view.key], sign = view.desc ? -1 : 1;
      // Ties keep the input order, in either direction.
      shown.sort(function (a, b) { return sign * by(a, b) || a.i - b.i; });
    }
    draw();
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / SIZE));
    view.page = Math.min(Math.max(0, view.page), pages - 1);
    var part = document.createDocumentFragment();
    shown.slice(view.page * SIZE, (view.page + 1) * SIZE).forEach(function (row) {
      part.appendChild(rowElement(row));
    });
    body.replaceChildren(part);
    var info = "page " + (view.page + 1) + " of " + pages + " · " + shown.length + " of " +
      all.length + " POs";
    each(".pageinfo", function (node) { node.textContent = info; });
    each(".pager .prev", function (node) { node.disabled = view.page === 0; });
    each(".pager .next", function (node) { node.disabled = view.page >= pages - 1; });
  }

  function readControls() {
    view.status = $("f-status").value;
    view.supplier = $("f-supplier").value;
    view.q = $("f-search").value.trim().toLowerCase();
    view.onlyNew = $("f-new").checked;
    view.page = 0;
    apply();
  }
  ["f-status", "f-supplier", "f-new"].forEach(function (id) { $(id).addEventListener("change", readControls); });
  $("f-search").addEventListener("input", readControls);
  $("controls").addEventListener("submit", function (e) { e.preventDefault(); });
  // "clear": back to the table as the page opened (input order too).
  $("controls").addEventListener("reset", function () {
    view.key = "";
    each(".pos-table th", function (th) { th.removeAttribute("aria-sort"); });
    setTimeout(readControls, 0);  // the reset event comes before the fields are reset
  });
  // The pager under the table brings its top back into view.
  each(".pager button", function (node) {
    node.addEventListener("click", function () {
      view.page += node.classList.contains("next") ? 1 : -1;
      draw();
      if (node.closest(".pager") !== $("prev").parentNode) $("pos").scrollIntoView();
    });
  });
  document.querySelectorAll(".pos-table th button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.dataset.key;
      view.desc = view.key === key ? !view.desc : false;
      view.key = key;
      view.page = 0;
      each(".pos-table th", function (th) { th.removeAttribute("aria-sort"); });
      button.parentNode.setAttribute("aria-sort", view.desc ? "descending" : "ascending");
      apply();
    });
  });

  // A supplier in the summary: its POs in the table.
  document.querySelectorAll("table.suppliers button.sup").forEach(function (button) {
    button.addEventListener("click", function () {
      $("f-supplier").value = button.closest("tr").dataset.supplier;
      readControls();
      $("pos").scrollIntoView();
    });
  });
  // The summary's own sorting: by the cells' data-v (numbers, or text for the name).
  document.querySelectorAll("table.sortable th button").forEach(function (button) {
    button.addEventListener("click", function () {
      var th = button.parentNode, col = Number(button.dataset.col);
      var tbody = th.closest("table").tBodies[0], desc = th.getAttribute("aria-sort") === "ascending";
      var rows = Array.prototype.slice.call(tbody.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
        var d = col === 0 ? (x < y ? -1 : x > y ? 1 : 0) : Number(x) - Number(y);
        return desc ? -d : d;
      });
      th.parentNode.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      rows.forEach(function (r) { tbody.appendChild(r); });
    });
  });

  // #po-N (the failure groups link there): clear the filters and show that PO's page.
  function follow() {
    var hash = location.hash.slice(1), po;
    if (hash.indexOf("po-") !== 0) return;
    try { po = decodeURIComponent(hash.slice(3)); } catch (e) { return; }
    var at = all.findIndex(function (r) { return r.po === po; });
    if (at < 0) return;
    ["f-status", "f-supplier", "f-search"].forEach(function (id) { $(id).value = ""; });
    $("f-new").checked = false;
    Object.assign(view, { status: "", supplier: "", q: "", onlyNew: false, key: "", desc: false });
    each(".pos-table th", function (th) { th.removeAttribute("aria-sort"); });
    shown = all;
    view.page = Math.floor(at / SIZE);
    draw();
    var tr = $("po-" + enc(po));
    if (tr) { tr.classList.add("target"); tr.scrollIntoView(); }
  }
  window.addEventListener("hashchange", follow);
  readControls();  // a reload may have kept what the controls held
  follow();
  // Benchmarks and tests read this mark: the first page is on screen.
  performance.mark("coupadl-table-ready");
})();
