// ruledex HTML report: renders the view named by the URL hash from the
// JSON document embedded in #ruledex-data. Rule text reaches the page only
// through text nodes and attribute values, never as markup.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("ruledex-data").textContent);
  var app = document.getElementById("app");
  var LANGS = ["splunk", "kusto", "snowflake"];
  var PAGE = 500; // catalog rows rendered per "show more"

  // id -> indices of rules with that id (ids may repeat across catalogs).
  var byId = new Map();
  D.rules.forEach(function (r, i) {
    var list = byId.get(r.id);
    if (list) list.push(i); else byId.set(r.id, [i]);
  });
  var tacticNames = new Map();
  D.attack.columns.forEach(function (c) { tacticNames.set(c.shortname, c.name); });

  // Lower-cased text the catalog filter searches, built once per rule.
  var haystack = D.rules.map(function (r) {
    return [r.id, r.title, r.path, r.source, r.language, r.data_categories.join(" "),
      r.techniques.map(function (t) { return t.id + " " + t.name; }).join(" "),
      r.tactics.join(" ")].join("\n").toLowerCase();
  });

  function h(tag, props) {
    var e = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") e.className = v;
        else if (k === "text") e.textContent = v;
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(e, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(e, k); }); return; }
    e.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  function ruleHref(id) { return "#rule/" + encodeURIComponent(id); }
  function ruleLink(id) {
    var i = byId.get(id);
    var title = i ? D.rules[i[0]].title : null;
    return h("a", { href: ruleHref(id), title: title }, id);
  }
  function langTag(l) { return h("span", { "class": "lang " + l }, l); }
  function table(head, rows, cls) {
    return h("table", { "class": cls || null },
      h("thead", null, h("tr", null, head.map(function (c) {
        return typeof c === "string" ? h("th", null, c) : c;
      }))),
      h("tbody", null, rows));
  }
  function td(v, cls) { return h("td", { "class": cls || null }, v); }
  function safeUrl(u) { return /^https?:\/\//i.test(u) ? u : null; }
  function plural(n, w) { return n + " " + w + (n === 1 ? "" : "s"); }

  // ----- routing -------------------------------------------------------
  function parseHash() {
    var raw = location.hash.replace(/^#/, "");
    if (raw.slice(0, 5) === "rule/") {
      var rest = raw.slice(5), n = 0, at = rest.lastIndexOf("~");
      if (at > 0 && /^\d+$/.test(rest.slice(at + 1))) { n = +rest.slice(at + 1); rest = rest.slice(0, at); }
      return { view: "rule", id: safeDecode(rest), n: n };
    }
    var q = raw.indexOf("?");
    var view = (q < 0 ? raw : raw.slice(0, q)) || "catalog";
    var params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    return { view: view, params: params };
  }
  function safeDecode(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

  function route() {
    var r = parseHash();
    app.textContent = "";
    document.querySelectorAll("header nav a").forEach(function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === (r.view === "rule" ? "catalog" : r.view));
    });
    if (r.view === "rule") renderRule(r.id, r.n);
    else if (r.view === "attack") renderAttack(r.params);
    else if (r.view === "indicators") renderIndicators();
    else renderCatalog(r.params);
    window.scrollTo(0, 0);
  }
  window.addEventListener("hashchange", route);

  // ----- catalog -------------------------------------------------------
  function renderCatalog(params) {
    var state = {
      q: params.get("q") || "", lang: params.get("lang") || "",
      tactic: params.get("tactic") || "", source: params.get("source") || "",
      shown: PAGE, sort: params.get("sort") || "", desc: params.get("desc") === "1"
    };
    var s = D.summary || {};
    app.appendChild(h("h1", null, "Detection rule catalog"));
    app.appendChild(h("p", { "class": "muted" },
      plural(D.rules.length, "rule") + " from " + D.catalogs.join(", ") +
      (s.rules_with_parse_diagnostics ? " · " + s.rules_with_parse_diagnostics + " with parse diagnostics" : "")));

    var count = (function (key) {
      var m = new Map();
      D.rules.forEach(function (r) { [].concat(r[key]).forEach(function (v) { m.set(v, (m.get(v) || 0) + 1); }); });
      return m;
    });
    var langs = count("language"), sources = count("source"), tactics = count("tactics");
    function select(name, label, options, current) {
      var sel = h("select", { name: name, "aria-label": label },
        h("option", { value: "" }, "any " + label),
        options.map(function (o) {
          var opt = h("option", { value: o[0] }, o[1]);
          if (o[0] === current) opt.selected = true;
          return opt;
        }));
      sel.addEventListener("change", function () { state[name] = sel.value; state.shown = PAGE; update(); });
      return sel;
    }
    var input = h("input", { type: "search", placeholder: "filter: id, title, technique, path…", value: state.q, "aria-label": "text filter" });
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = input.value; state.shown = PAGE; update(); }, 120);
    });
    var tacticOpts = D.attack.columns.filter(function (c) { return tactics.has(c.shortname); })
      .map(function (c) { return [c.shortname, c.name + " (" + tactics.get(c.shortname) + ")"]; });
    var status = h("span", { "class": "muted", id: "catalog-count" });
    app.appendChild(h("div", { "class": "filters" }, input,
      select("lang", "language", LANGS.filter(function (l) { return langs.has(l); })
        .map(function (l) { return [l, l + " (" + langs.get(l) + ")"]; }), state.lang),
      select("tactic", "tactic", tacticOpts, state.tactic),
      select("source", "source", Array.from(sources.keys()).sort()
        .map(function (v) { return [v, v + " (" + sources.get(v) + ")"]; }), state.source),
      status));
    var body = h("tbody");
    var more = h("div");
    // Sortable headers: click once ascending, again descending.
    var sorts = {
      id: function (r) { return r.id; }, title: function (r) { return r.title.toLowerCase(); },
      language: function (r) { return r.language; }, indicators: function (r) { return r.indicators.length; }
    };
    function sortHead(label, key, cls) {
      var th = h("th", { "class": (cls ? cls + " " : "") + "sortable", title: "sort by " + label.toLowerCase(), "data-key": key }, label);
      th.addEventListener("click", function () {
        state.desc = state.sort === key ? !state.desc : key === "indicators";
        state.sort = key; update();
      });
      return th;
    }
    app.appendChild(h("table", { "class": "list", id: "catalog-list" },
      h("thead", null, h("tr", null, sortHead("Id", "id"), sortHead("Title", "title"), sortHead("Language", "language"),
        h("th", null, "Techniques"), h("th", null, "Tactics"), sortHead("Indicators", "indicators", "num"))),
      body));
    app.appendChild(more);

    function matches(i) {
      var r = D.rules[i];
      if (state.lang && r.language !== state.lang) return false;
      if (state.source && r.source !== state.source) return false;
      if (state.tactic && r.tactics.indexOf(state.tactic) < 0) return false;
      var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
      for (var w = 0; w < words.length; w++) if (haystack[i].indexOf(words[w]) < 0) return false;
      return true;
    }
    function update() {
      var p = new URLSearchParams();
      ["q", "lang", "tactic", "source", "sort"].forEach(function (k) { if (state[k]) p.set(k, state[k]); });
      if (state.sort && state.desc) p.set("desc", "1");
      var hash = "#catalog" + (p.toString() ? "?" + p.toString() : "");
      if (location.hash !== hash) history.replaceState(null, "", hash);
      var hits = [];
      for (var i = 0; i < D.rules.length; i++) if (matches(i)) hits.push(i);
      document.querySelectorAll("#catalog-list th.sortable").forEach(function (th) {
        var on = th.getAttribute("data-key") === state.sort;
        if (on) th.setAttribute("data-dir", state.desc ? "desc" : "asc"); else th.removeAttribute("data-dir");
      });
      if (sorts[state.sort]) {
        var key = sorts[state.sort], dir = state.desc ? -1 : 1;
        hits.sort(function (a, b) {
          var x = key(D.rules[a]), y = key(D.rules[b]);
          return x < y ? -dir : x > y ? dir : a - b;
        });
      }
      status.textContent = hits.length === D.rules.length ? plural(hits.length, "rule")
        : hits.length + " of " + plural(D.rules.length, "rule");
      body.textContent = "";
      var frag = document.createDocumentFragment();
      hits.slice(0, state.shown).forEach(function (i) {
        var r = D.rules[i];
        var dup = byId.get(r.id);
        var href = ruleHref(r.id) + (dup.length > 1 && dup.indexOf(i) > 0 ? "~" + dup.indexOf(i) : "");
        frag.appendChild(h("tr", { "data-id": r.id },
          td(h("a", { href: href }, r.id), "mono"),
          td(r.title),
          td(langTag(r.language)),
          td(r.techniques.map(function (t) { return h("span", { "class": "tag", title: t.name || null }, t.id); })),
          td(r.tactics.map(function (t) { return h("span", { "class": "tag" }, tacticNames.get(t) || t); })),
          td(String(r.indicators.length), "num")));
      });
      body.appendChild(frag);
      more.textContent = "";
      if (hits.length > state.shown) {
        more.appendChild(h("button", {
          onclick: function () { state.shown += PAGE * 4; update(); }
        }, "Show more (" + (hits.length - state.shown) + " not shown)"));
      }
    }
    update();
  }

  // ----- one rule --------------------------------------------------------
  function renderRule(id, n) {
    var idx = byId.get(id);
    if (!idx) {
      app.appendChild(h("h1", null, "No rule " + id));
      app.appendChild(h("p", null, h("a", { href: "#catalog" }, "Back to the catalog")));
      return;
    }
    var r = D.rules[idx[Math.min(n || 0, idx.length - 1)]];
    var cap = r.language.charAt(0).toUpperCase() + r.language.slice(1);
    app.appendChild(h("div", { "class": "crumbs" }, h("a", { href: "#catalog" }, "Detection rules"), " › ",
      h("a", { href: "#catalog?lang=" + r.language }, cap)));
    app.appendChild(h("h1", { id: "rule-title" }, r.title + (r.data_categories.length ? " (" + r.data_categories[0] + ")" : "")));
    if (idx.length > 1) {
      app.appendChild(h("p", { "class": "note" }, "Id " + id + " is used by " + idx.length + " rules: ",
        idx.map(function (_, k) { return h("a", { href: ruleHref(id) + (k ? "~" + k : "") , style: "margin-right:8px" }, "#" + (k + 1)); })));
    }
    var meta = h("dl", { "class": "meta" });
    function row(k, v) { if (v !== "" && v !== null && !(Array.isArray(v) && !v.length)) append(meta, [h("dt", null, k), h("dd", null, v)]); }
    row("Id", h("code", null, r.id));
    row("Language", langTag(r.language));
    row("Group by", r.group_by.join(", "));
    row("Source", r.source);
    row("File", h("code", null, r.path));
    row("Data", r.data_categories.join(", "));
    app.appendChild(meta);
    if (r.description) app.appendChild(h("p", { "class": "description" }, r.description));

    app.appendChild(h("h2", null, "MITRE ATT&CK coverage"));
    if (!r.techniques.length) app.appendChild(h("p", { "class": "muted" }, "The rule names no technique."));
    else app.appendChild(table(["Tactic", "Technique", "Name"], r.techniques.map(function (t) {
      return h("tr", null, td(t.tactic), td(h("a", { href: "#attack?t=" + encodeURIComponent(t.id) }, t.id), "mono"), td(t.name));
    })));

    if (r.references.length) {
      app.appendChild(h("h2", null, "References"));
      app.appendChild(h("ul", null, r.references.map(function (u) {
        var ok = safeUrl(u);
        return h("li", null, ok ? h("a", { href: ok, rel: "noreferrer noopener", target: "_blank" }, u) : u);
      })));
    }

    app.appendChild(h("h2", null, "Event coverage"));
    if (!r.event_coverage.length) app.appendChild(h("p", { "class": "muted" }, "No Windows event ids in the rule."));
    else app.appendChild(table(["Provider", "Event", "Title"], r.event_coverage.map(function (e) {
      return h("tr", null, td(e.provider), td(e.event), td(e.title));
    })));

    app.appendChild(h("h2", null, "Rule body"));
    app.appendChild(h("pre", { id: "rule-yaml" }, r.yaml.replace(/\s+$/, "")));

    app.appendChild(h("h2", null, "Stages and Predicates"));
    r.stages.forEach(function (s) {
      app.appendChild(h("h3", null, "Stage " + s.n + ": " + s.kind));
      app.appendChild(h("pre", null, (s.n > 1 ? "| " : "") + s.text));
    });

    app.appendChild(h("h2", null, "Indicators"));
    app.appendChild(h("p", { "class": "help" }, D.help.indicators));
    if (!r.indicators.length) app.appendChild(h("p", { "class": "muted" }, "None."));
    else {
      // One group per (field, kind), values listed under it, as `show` does.
      var groups = [];
      r.indicators.forEach(function (ind) {
        var g = groups.find(function (g) { return g.field === ind.field && g.op === ind.op; });
        if (g) g.rows.push(ind); else groups.push({ field: ind.field, op: ind.op, rows: [ind] });
      });
      var rows = [];
      groups.forEach(function (g) {
        g.rows.forEach(function (ind, k) {
          var tr = h("tr");
          if (k === 0) {
            tr.appendChild(h("td", { rowspan: g.rows.length, "class": "mono" }, g.field));
            tr.appendChild(h("td", { rowspan: g.rows.length }, g.op));
          }
          append(tr, [td(ind.value, "mono"), td(String(ind.stage), "num"), td(String(ind.corpus.total), "num")]);
          LANGS.forEach(function (l) { tr.appendChild(td(ind.corpus[l] ? String(ind.corpus[l]) : "", "num")); });
          rows.push(tr);
        });
      });
      app.appendChild(table(["Field", "Kind", "Value", h("th", { "class": "num" }, "Stage"),
        h("th", { "class": "num" }, "Corpus")].concat(LANGS.map(function (l) { return h("th", { "class": "num" }, l); })),
        rows, "indicators"));
    }

    app.appendChild(h("h2", null, "Search terms"));
    app.appendChild(h("p", { "class": "help" }, D.help.terms));
    if (!r.search_terms.length) app.appendChild(h("p", { "class": "muted" }, "None."));
    else app.appendChild(table(["Stage", "Term"], r.search_terms.map(function (t) {
      return h("tr", null, td(String(t.stage), "num"), td(t.term, "mono"));
    }), "terms"));

    if (r.diagnostics.length) {
      app.appendChild(h("h2", null, "Diagnostics"));
      app.appendChild(table(["Severity", "Code", "Line", "Message"], r.diagnostics.map(function (d) {
        return h("tr", null, td(h("span", { "class": "sev-" + d.severity }, d.severity)), td(d.code, "mono"),
          td(d.line ? d.line + ":" + d.column : "", "num"), td(d.message));
      })));
      app.appendChild(h("pre", { "class": "diag" }, r.diagnostics.map(function (d) { return d.rendered; }).join("")));
    }
  }

  // ----- ATT&CK heatmap --------------------------------------------------
  function level(score) {
    if (!score) return 0;
    var max = Math.max(D.attack.max, 1);
    return Math.max(1, Math.min(5, Math.ceil(5 * Math.log(score + 1) / Math.log(max + 1))));
  }
  // Links to the first `limit` rules; `total` counts those not listed too.
  function idList(ids, limit, total) {
    var shown = ids.slice(0, limit);
    var rest = Math.max(total || ids.length, ids.length) - shown.length;
    return h("div", { "class": "idlist" }, shown.map(ruleLink),
      rest > 0 ? h("span", { "class": "muted" }, "… and " + rest + " more") : null);
  }
  // Rules as rows: id, language and title, in columns.
  function ruleList(ids, limit) {
    return h("div", { "class": "rulelist" }, ids.slice(0, limit).map(function (id) {
      var i = byId.get(id), r = i ? D.rules[i[0]] : null;
      return h("div", null, ruleLink(id), " ", r ? langTag(r.language) : null, " ", r ? r.title : "");
    }), ids.length > limit ? h("div", { "class": "muted" }, "… and " + (ids.length - limit) + " more") : null);
  }
  // A <details> whose rule list is built when first opened.
  function lazyRuleList(ids, total) {
    if (ids.length <= 6) return null;
    var d = h("details", null, h("summary", null, "all " + plural(total, "rule")));
    d.addEventListener("toggle", function () {
      if (d.open && d.children.length === 1) d.appendChild(ruleList(ids, ids.length));
    });
    return d;
  }
  function renderAttack(params) {
    var A = D.attack;
    app.appendChild(h("h1", null, "ATT&CK coverage"));
    app.appendChild(h("p", { "class": "muted" },
      (A.bundle ? "ATT&CK" + (A.version ? " v" + A.version : "") + " matrix · " : "Technique ids as the rules write them · ") +
      A.mapped + " rules mapped, " + A.unmapped + " without a technique · cells shaded by rule count (sub-techniques rolled up); hover for the rules, click for details"));
    A.notes.forEach(function (n) { app.appendChild(h("p", { "class": "note" }, n)); });
    // The legend shows the score range each shade stands for.
    var ranges = [];
    for (var sc = 1; sc <= A.max; sc++) {
      var l = level(sc);
      if (ranges[l]) ranges[l][1] = sc; else ranges[l] = [sc, sc];
    }
    var legend = h("div", { "class": "legend" }, "rules per technique: ", h("span", { "class": "cell l0" }, "0"));
    ranges.forEach(function (r, l) {
      if (r) legend.appendChild(h("span", { "class": "cell l" + l }, r[0] === r[1] ? String(r[0]) : r[0] + "–" + r[1]));
    });
    var only = h("input", { type: "checkbox", id: "only-covered" });
    only.checked = params.get("covered") === "1";
    only.addEventListener("change", function () {
      grid.classList.toggle("covered-only", only.checked);
      history.replaceState(null, "", "#attack" + (only.checked ? "?covered=1" : ""));
    });
    legend.appendChild(h("label", { style: "margin-left:16px" }, only, " covered techniques only"));
    app.appendChild(legend);
    var detail = h("div", { id: "cell-detail" });
    app.appendChild(detail);
    var want = params.get("t");
    var selected = null;
    var grid = h("div", { "class": "heatmap" + (only.checked ? " covered-only" : ""), id: "heatmap" });
    A.columns.forEach(function (col) {
      var head = h("div", { "class": "tactic", title: col.id || null }, col.name,
        h("small", null, plural(col.rules, "rule") + " · " + (col.total !== null ? col.covered + "/" + col.total + " techniques" : plural(col.covered, "technique"))));
      var cells = col.cells.map(function (c) {
        var tip = c.id + (c.name ? " " + c.name : "") + " — " + plural(c.score, "rule") +
          (c.rules.length ? ": " + c.rules.slice(0, 40).join(", ") + (c.rules.length > 40 ? ", … " + (c.rules.length - 40) + " more" : "") : "");
        var b = h("button", { "class": "cell l" + level(c.score), title: tip, "data-technique": c.id, "data-tactic": col.shortname },
          h("span", { "class": "score" }, c.score ? String(c.score) : ""), c.name ? c.id + " " + c.name : c.id);
        b.addEventListener("click", function () { select(b, col, c); });
        if (want && (c.id === want || c.subs.some(function (s) { return s.id === want; })) && !selected) selected = [b, col, c];
        return b;
      });
      grid.appendChild(h("div", { "class": "col" }, head, cells));
    });
    app.appendChild(grid);
    function select(b, col, c) {
      document.querySelectorAll(".heatmap .cell.sel").forEach(function (x) { x.classList.remove("sel"); });
      b.classList.add("sel");
      detail.textContent = "";
      detail.appendChild(h("div", { "class": "detail" },
        h("h3", null, c.id + (c.name ? " " + c.name : "") + " · " + col.name + " · " + plural(c.score, "rule")),
        c.rules.length ? ruleList(c.rules, 400) : h("p", { "class": "muted" }, "No rule covers this technique."),
        c.subs.length ? h("h3", null, "Sub-techniques") : null,
        c.subs.length ? table(["Sub-technique", "Name", h("th", { "class": "num" }, "Rules"), "Rule ids"], c.subs.map(function (s) {
          return h("tr", null, td(s.id, "mono"), td(s.name), td(String(s.score), "num"), td(idList(s.rules, 20)));
        })) : null,
        c.rules.length ? h("p", null, h("a", { href: "#catalog?q=" + encodeURIComponent(c.id) + "&tactic=" + encodeURIComponent(col.shortname) }, "Show these rules in the catalog")) : null));
      detail.scrollIntoView({ block: "nearest" });
    }
    if (selected) select(selected[0], selected[1], selected[2]);
    if (A.findings.length) {
      app.appendChild(h("h2", null, "Mapping findings (" + A.findings.length + ")"));
      app.appendChild(h("details", null, h("summary", null, "Revoked, deprecated, unknown and malformed technique ids"),
        table(["Kind", "Rule", "As written", "Message"], A.findings.map(function (f) {
          return h("tr", null, td(f.kind, "mono"), td(ruleLink(f.rule), "mono"), td(f.raw, "mono"), td(f.message));
        }))));
    }
  }

  // ----- top indicators --------------------------------------------------
  function renderIndicators() {
    app.appendChild(h("h1", null, "Top indicators"));
    app.appendChild(h("p", { "class": "help" }, "The field-operator-values carried by the most rules across the catalog, split by language; a rule repeating a predicate counts once."));
    app.appendChild(table(["#", "Field", "Kind", "Value", h("th", { "class": "num" }, "Rules")]
      .concat(LANGS.map(function (l) { return h("th", { "class": "num" }, l); })).concat(["Rule ids"]),
      D.indicators.map(function (ind, i) {
        return h("tr", null, td(String(i + 1), "num"), td(ind.field, "mono"), td(ind.op), td(ind.value, "mono"),
          td(String(ind.rules.total), "num"),
          LANGS.map(function (l) { return td(ind.rules[l] ? String(ind.rules[l]) : "", "num"); }),
          td([idList(ind.rule_ids.slice(0, 6), 6), lazyRuleList(ind.rule_ids, ind.rules.total)]));
      }), "top-indicators"));
  }

  route();
  // Milliseconds from navigation start until the first view was built
  // (loading the file, parsing the JSON, rendering): for benchmarks.
  document.documentElement.setAttribute("data-ready-ms", String(Math.round(performance.now())));
})();
