/* 惠企政策 rule builder: a policy officer builds an item's eligibility rule and amount formula from
 * the field catalogue — groups (all / any, nested), conditions (field, operator, value by type) and an
 * amount formula (fixed, percentage of a figure with a cap, tiers by size class or by a figure) — and
 * never types JSON.  The builder writes JsonLogic into two hidden inputs; the server checks it on every
 * change (rules/check: plain Chinese or every error with its JSON-pointer path, shown next to the
 * condition it belongs to), simulates it over the registry (rules/simulate) and validates it again on
 * saving.  Parts of a stored rule the builder cannot show as a form stay as they are, read-only.
 * Plain JavaScript, no build step. */
(function () {
  "use strict";

  var NUM_OPS = [[">=", "≥ 不低于"], [">", "> 高于"], ["<=", "≤ 不高于"], ["<", "< 低于"], ["==", "= 等于"],
    ["!=", "≠ 不等于"], ["between", "介于（含两端）"]];
  var DATE_OPS = [["<", "早于"], ["<=", "不晚于"], [">", "晚于"], [">=", "不早于"], ["between", "介于"]];
  var BOOL_OPS = [["true", "是"], ["false", "否"]];
  var SET_OPS = [["in", "属于"], ["not_in", "不属于"]];
  var CODE_OPS = [["prefix", "属于行业"], ["not_prefix", "不属于行业"]];
  var CMP = {"==": 1, "!=": 1, "<": 1, "<=": 1, ">": 1, ">=": 1, "===": "==", "!==": "!="};
  var FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="};
  var YEARS = {"last": "上年", "y-2": "前年", "y-3": "3 年前", "y-4": "4 年前", "y-5": "5 年前"};
  var SIZES = ["大型", "中型", "小型", "微型"];
  var NUMBER_RE = /^-?\d+(\.\d+)?$/;

  // ---------------------------------------------------------------------------------------- helpers

  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else if (k === "value") node.value = v;
      else if (k === "checked" || k === "selected") node[k] = !!v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (kid) {
      if (kid === null || kid === undefined || kid === false) return;
      node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
    });
    return node;
  }

  function select(options, value, attrs) {
    var s = el("select", attrs);
    options.forEach(function (o) {
      if (o.group) {
        var g = el("optgroup", {label: o.group});
        o.options.forEach(function (x) { g.appendChild(el("option", {value: x[0], text: x[1], selected: String(x[0]) === String(value)})); });
        s.appendChild(g);
      } else {
        s.appendChild(el("option", {value: o[0], text: o[1], selected: String(o[0]) === String(value)}));
      }
    });
    return s;
  }

  function isObj(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }
  function opOf(x) { return isObj(x) && Object.keys(x).length === 1 ? Object.keys(x)[0] : null; }
  function args(x, op) { var a = x[op]; return Array.isArray(a) ? a : [a]; }
  function isLit(x) { return x === null || typeof x !== "object"; }

  /** "3" → "0.03" (percent to fraction) by moving the decimal point: exact, never through floats. */
  function pctToFraction(s) {
    var neg = s.charAt(0) === "-";
    if (neg) s = s.slice(1);
    var parts = s.split("."), whole = parts[0], frac = parts[1] || "";
    while (whole.length < 3) whole = "0" + whole;
    var out = whole.slice(0, -2).replace(/^0+(?=\d)/, "") + "." + whole.slice(-2) + frac;
    out = out.replace(/\.?0+$/, "");
    if (out === "" || out === "-") out = "0";
    return (neg ? "-" : "") + out;
  }

  /** 0.03 → "3" (fraction to percent), exact on the shortest decimal form of the number. */
  function fractionToPct(num) {
    var s = String(num);
    if (/e/i.test(s)) s = Number(num).toFixed(10);
    var neg = s.charAt(0) === "-";
    if (neg) s = s.slice(1);
    var parts = s.split("."), frac = (parts[1] || "") + "00";
    var whole = (parts[0] + frac.slice(0, 2)).replace(/^0+(?=\d)/, "");
    var rest = frac.slice(2).replace(/0+$/, "");
    return (neg ? "-" : "") + whole + (rest ? "." + rest : "");
  }

  /** Text typed as a number → a JSON number; anything else stays text so the server names the error. */
  function num(text, percent) {
    var t = String(text === undefined || text === null ? "" : text).trim().replace(/,/g, "");
    if (!NUMBER_RE.test(t)) return t;
    return Number(percent ? pctToFraction(t) : t);
  }

  function splitCodes(text) {
    return String(text || "").split(/[\s,，、;；]+/).filter(function (x) { return x; }).map(function (x) { return x.toUpperCase(); });
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), "X-Requested-With": "fetch"},
      body: JSON.stringify(body)});
  }

  // ---------------------------------------------------------------------------------------- the builder

  function RuleBuilder(form) {
    var self = this;
    this.form = form;
    this.data = JSON.parse(document.getElementById("rb-data").textContent);
    this.fields = {};
    this.seq = 0;
    this.clientErrors = {};
    this.serverErrors = {};
    this.data.catalogue.forEach(function (f) {
      f.base = f.years ? f.key.replace(/\.last$/, "") : f.key;
      f.numeric = f.type === "number" || f.type === "integer";
      self.fields[f.base] = f;
    });
    var init = this.data.initial || {};
    // a new rule shows no errors until the officer starts on it
    this.touched = !(init.rule === null || init.rule === undefined) || (init.rule_errors || []).length > 0;
    this.root = this.parseRoot(init.rule);
    this.amount = this.parseAmount(init.amount);
    this.tree = document.getElementById("rb-tree");
    this.amountBox = document.getElementById("rb-amount");
    this.preview = document.getElementById("rb-preview");
    this.jsonBox = document.getElementById("rb-json");
    this.ruleInput = document.getElementById("rule_json");
    this.amountInput = document.getElementById("amount_json");
    this.render();
    this.renderAmount();
    this.sync();
    // errors the server found when the page was posted, on the conditions they belong to
    this.applyServer((init.rule_errors || []), (init.amount_errors || []));
    this.check();
    form.addEventListener("submit", function (ev) { self.onSubmit(ev); });
    var simBtn = document.getElementById("rb-simulate");
    if (simBtn) simBtn.addEventListener("click", function () { self.simulate(); });
  }

  RuleBuilder.prototype.id = function () { this.seq += 1; return "n" + this.seq; };

  RuleBuilder.prototype.group = function (op, kids, neg) {
    return {kind: "group", id: this.id(), op: op || "and", neg: !!neg, children: kids || []};
  };

  RuleBuilder.prototype.cond = function (props) {
    var c = {kind: "cond", id: this.id(), field: "", year: "last", year2: "y-2", param: "", calc: "value", n: "3",
      den: "", dflt: "", op: "", v: "", v2: "", vals: []};
    Object.keys(props || {}).forEach(function (k) { c[k] = props[k]; });
    return c;
  };

  RuleBuilder.prototype.raw = function (json) { return {kind: "raw", id: this.id(), json: json, text: ""}; };

  // ------------------------------------------------------------------------ reading stored JsonLogic

  RuleBuilder.prototype.resolve = function (key) {
    if (typeof key !== "string") return null;
    if (this.fields[key] && !this.fields[key].years) return {field: key, year: "last", param: ""};
    var m = /^(figures\.[a-z_]+)\.(last|y-(\d))$/.exec(key);
    if (m && this.fields[m[1]]) return {field: m[1], year: m[2] === "y-1" ? "last" : m[2], param: ""};
    var names = Object.keys(this.fields);
    for (var i = 0; i < names.length; i++) {
      var b = names[i];
      if (b.slice(-2) === ".*" && key.indexOf(b.slice(0, -1)) === 0 && key.length > b.length - 1) {
        return {field: b, year: "last", param: key.slice(b.length - 1)};
      }
    }
    return null;
  };

  RuleBuilder.prototype.varOf = function (x, allowDefault) {
    if (opOf(x) !== "var") return null;
    var a = x["var"], dflt = "";
    if (Array.isArray(a)) {
      if (a.length === 2 && allowDefault && typeof a[1] === "number") dflt = String(a[1]);
      else if (a.length !== 1) return null;
      a = a[0];
    }
    var r = this.resolve(a);
    if (r) r.dflt = dflt;
    return r;
  };

  RuleBuilder.prototype.lhsOf = function (x) {
    var op = opOf(x);
    if (op === "var") {
      var r = this.varOf(x, true);
      if (!r || this.fields[r.field].type === "bool" || (r.dflt && !this.fields[r.field].numeric)) return null;
      return r;
    }
    if (op === "-") {
      var m = args(x, op), a1 = m.length === 2 ? this.varOf(m[0]) : null, a2 = m.length === 2 ? this.varOf(m[1]) : null;
      if (a1 && a2 && a1.field === a2.field && this.fields[a1.field].years && a1.year !== a2.year) {
        return {field: a1.field, year: a1.year, year2: a2.year, param: "", calc: "increase"};
      }
    }
    if (op === "sum_years") {
      var a = args(x, op), f = this.fields["figures." + a[0]];
      if (a.length === 2 && f && typeof a[1] === "number") return {field: f.base, year: "last", param: "", calc: "sum", n: String(a[1])};
    }
    if (op === "/") {
      var d = args(x, op);
      if (d.length === 2) {
        var top = this.varOf(d[0]), bottom = this.varOf(d[1]);
        if (top && bottom && this.fields[top.field].years && this.fields[bottom.field].years && top.year === bottom.year) {
          return {field: top.field, year: top.year, param: "", calc: "ratio", den: bottom.field};
        }
      }
    }
    return null;
  };

  RuleBuilder.prototype.litText = function (lhs, value) {
    if (lhs.calc === "ratio" && typeof value === "number") return fractionToPct(value);
    return value === null ? "" : String(value);
  };

  RuleBuilder.prototype.parseCond = function (x) {
    var op = opOf(x);
    if (!op) return null;
    var a = args(x, op), r, f;
    if (op === "var") {
      r = this.varOf(x);
      return r && this.fields[r.field].type === "bool" ? this.cond({field: r.field, param: r.param, op: "true"}) : null;
    }
    if (op === "in" && a.length === 2 && Array.isArray(a[1])) {
      r = this.varOf(a[0]);
      if (r && ["enum", "string", "code"].indexOf(this.fields[r.field].type) >= 0) {
        f = this.fields[r.field];
        if (f.type === "code") return this.cond({field: r.field, op: "prefix", v: a[1].join(", ")});
        if (f.type === "string" && !f.choices) return this.cond({field: r.field, param: r.param, op: "in", v: a[1].join(", ")});
        return this.cond({field: r.field, param: r.param, op: "in", vals: a[1].slice()});
      }
      return null;
    }
    if (op === "prefix" && a.length === 2) {
      r = this.varOf(a[0]);
      if (r && this.fields[r.field].type === "code") {
        return this.cond({field: r.field, op: "prefix", v: (Array.isArray(a[1]) ? a[1] : [a[1]]).join(", ")});
      }
      return null;
    }
    if (CMP[op]) {
      var cmp = typeof CMP[op] === "string" ? CMP[op] : op, lhs;
      if (a.length === 3 && cmp === "<=" && isLit(a[0]) && isLit(a[2])) {
        lhs = this.lhsOf(a[1]);
        if (lhs) return this.cond(Object.assign(lhs, {op: "between", v: this.litText(lhs, a[0]), v2: this.litText(lhs, a[2])}));
        return null;
      }
      if (a.length !== 2) return null;
      var grow = this.growthOf(a[0], a[1]);
      if (grow) return this.cond(Object.assign(grow, {op: cmp}));
      var left = isLit(a[1]) ? a[0] : null, lit = a[1];
      if (left === null && isLit(a[0])) { left = a[1]; lit = a[0]; cmp = FLIP[cmp]; }
      if (left === null) return null;
      r = this.varOf(left);
      if (r && ["enum", "string"].indexOf(this.fields[r.field].type) >= 0 && (cmp === "==" || cmp === "!=")) {
        return this.cond({field: r.field, param: r.param, op: cmp === "==" ? "in" : "not_in", vals: [lit], v: String(lit)});
      }
      lhs = this.lhsOf(left);
      if (lhs && (this.fields[lhs.field].numeric || this.fields[lhs.field].type === "date")) {
        return this.cond(Object.assign(lhs, {op: cmp, v: this.litText(lhs, lit)}));
      }
    }
    return null;
  };

  /** ``figures.x.last ≥ 1.15 × figures.x.y-2`` (or without the factor): growth over an earlier year in %. */
  RuleBuilder.prototype.growthOf = function (left, right) {
    var a = this.varOf(left), factor = 1, b = null;
    if (!a || !this.fields[a.field].years) return null;
    if (opOf(right) === "*") {
      var m = args(right, "*");
      if (m.length !== 2) return null;
      if (typeof m[0] === "number") { factor = m[0]; b = this.varOf(m[1]); } else if (typeof m[1] === "number") { factor = m[1]; b = this.varOf(m[0]); }
    } else {
      b = this.varOf(right);
    }
    if (!b || b.field !== a.field || b.year === a.year) return null;
    var pct = Number(fractionToPct(factor)) - 100;
    return {field: a.field, year: a.year, year2: b.year, param: "", calc: "growth", v: String(pct)};
  };

  RuleBuilder.prototype.parseNode = function (x) {
    var op = opOf(x);
    if (op === "and" || op === "or") {
      var self = this;
      return this.group(op, args(x, op).map(function (k) { return self.parseNode(k); }));
    }
    if (op === "!") {
      var a = args(x, op);
      if (a.length === 1) {
        var inner = opOf(a[0]);
        if (inner === "and" || inner === "or") { var g = this.parseNode(a[0]); g.neg = true; return g; }
        var c = this.parseCond(a[0]);
        var flip = {"true": "false", "in": "not_in", "prefix": "not_prefix"};
        if (c && flip[c.op]) { c.op = flip[c.op]; return c; }
      }
      return this.raw(x);
    }
    return this.parseCond(x) || this.raw(x);
  };

  RuleBuilder.prototype.parseRoot = function (rule) {
    if (rule === null || rule === undefined) return this.group("and", [this.cond()]);
    var op = opOf(rule);
    if (op === "and" || op === "or") return this.parseNode(rule);
    return this.group("and", [this.parseNode(rule)]);
  };

  RuleBuilder.prototype.parseAmount = function (j) {
    var required = this.data.amount_required;
    var blank = {mode: required ? "fixed" : "none", fixed: "", pct: "", field: "", year: "last", cap: "",
      sizes: {}, other: "", tfield: "", tyear: "last", tiers: [{min: "", amt: ""}], telse: "", raw: null};
    if (j === null || j === undefined) return blank;
    if (typeof j === "number") return Object.assign(blank, {mode: "fixed", fixed: String(j)});
    var core = j, cap = "", self = this;
    if (opOf(j) === "min" && args(j, "min").length === 2 && typeof j.min[1] === "number") { core = j.min[0]; cap = String(j.min[1]); }
    if (opOf(core) === "*" && args(core, "*").length === 2) {
      var m = args(core, "*"), rate = null, v = null;
      if (typeof m[0] === "number") { rate = m[0]; v = m[1]; } else if (typeof m[1] === "number") { rate = m[1]; v = m[0]; }
      var r = v ? this.varOf(v) : null;
      if (rate !== null && r && this.fields[r.field].numeric) {
        return Object.assign(blank, {mode: "pct", pct: fractionToPct(rate), field: r.field, year: r.year, cap: cap});
      }
    }
    if (opOf(j) === "if") {
      var a = args(j, "if");
      if (a.length >= 3 && a.length % 2 === 1 && typeof a[a.length - 1] === "number") {
        var sizes = {}, tiers = [], tfield = null, tyear = "last", bySize = true, byTier = true;
        for (var i = 0; i + 1 < a.length; i += 2) {
          var cnd = a[i], amt = a[i + 1];
          if (typeof amt !== "number") { bySize = byTier = false; break; }
          var eq = opOf(cnd) === "==" ? args(cnd, "==") : opOf(cnd) === "in" ? args(cnd, "in") : null;
          var sv = eq && eq.length === 2 ? self.varOf(eq[0]) : null;
          var named = eq && eq.length === 2 ? (Array.isArray(eq[1]) ? eq[1] : [eq[1]]) : [];
          if (!(sv && sv.field === "size_class" && named.length && named.every(function (s) { return SIZES.indexOf(s) >= 0 && !(s in sizes); }))) bySize = false;
          else named.forEach(function (s) { sizes[s] = String(amt); });
          var ge = opOf(cnd) === ">=" ? args(cnd, ">=") : null;
          var tv = ge && ge.length === 2 && typeof ge[1] === "number" ? self.varOf(ge[0]) : null;
          if (!(tv && self.fields[tv.field].numeric && (tfield === null || (tfield === tv.field && tyear === tv.year)))) byTier = false;
          else { tfield = tv.field; tyear = tv.year; tiers.push({min: String(ge[1]), amt: String(amt)}); }
        }
        var other = String(a[a.length - 1]);
        if (bySize) return Object.assign(blank, {mode: "size", sizes: sizes, other: other});
        if (byTier) return Object.assign(blank, {mode: "tiers", tfield: tfield, tyear: tyear, tiers: tiers, telse: other});
      }
    }
    return Object.assign(blank, {mode: "raw", raw: j});
  };

  // ------------------------------------------------------------------------ writing JsonLogic

  RuleBuilder.prototype.varKey = function (c) {
    var f = this.fields[c.field];
    if (f.years) return c.field + "." + (c.year || "last");
    if (c.field.slice(-2) === ".*") return c.field.slice(0, -1) + (c.param || "").trim();
    return c.field;
  };

  RuleBuilder.prototype.lhsJson = function (c) {
    var f = this.fields[c.field];
    if (f.years && c.calc === "sum") return {"sum_years": [c.field.slice(8), num(c.n)]};
    if (f.years && c.calc === "increase") return {"-": [{"var": this.varKey(c)}, {"var": c.field + "." + (c.year2 || "y-2")}]};
    if (c.dflt !== "" && c.dflt !== undefined && c.calc === "value" && f.numeric) return {"var": [this.varKey(c), num(c.dflt)]};
    if (f.years && c.calc === "ratio" && c.den) {
      return {"/": [{"var": this.varKey(c)}, {"var": c.den + "." + (c.year || "last")}]};
    }
    return {"var": this.varKey(c)};
  };

  RuleBuilder.prototype.condJson = function (c, errs) {
    var f = this.fields[c.field];
    if (!f) { errs.push("请选择要判断的数据项"); return null; }
    var v = {"var": this.varKey(c)}, pct = c.calc === "ratio";
    if (c.field.slice(-2) === ".*" && !(c.param || "").trim()) errs.push("请填写事项编码");
    if (f.type === "bool") return c.op === "false" ? {"!": [v]} : v;
    if (f.type === "code") {
      var codes = splitCodes(c.v);
      if (!codes.length) errs.push("请填写行业代码，如 C、I65、3911");
      var p = {"prefix": [v, codes]};
      return c.op === "not_prefix" ? {"!": [p]} : p;
    }
    if (f.type === "enum" || f.type === "string") {
      var vals = c.vals;
      if (f.type === "string" && !f.choices) {
        vals = String(c.v || "").split(/[,，、;；]+/).map(function (x) { return x.trim(); }).filter(Boolean);
      }
      if (!vals.length) errs.push("请至少选择一项");
      var m = {"in": [v, vals]};
      return c.op === "not_in" ? {"!": [m]} : m;
    }
    if (f.years && c.calc === "growth") {
      if (String(c.v).trim() === "") errs.push("请填写增长幅度");
      var t = String(c.v).trim(), factor = NUMBER_RE.test(t) ? Number(pctToFraction(String(100 + Number(t)))) : t;
      var base = {"var": c.field + "." + (c.year2 || "y-2")};
      var g = {};
      g[c.op === "between" ? ">=" : (c.op || ">=")] = [{"var": this.varKey(c)}, factor === 1 ? base : {"*": [factor, base]}];
      return g;
    }
    var lhs = f.numeric ? this.lhsJson(c) : v;
    var a = f.numeric ? num(c.v, pct) : String(c.v || "");
    if (String(c.v).trim() === "") errs.push(f.type === "date" ? "请选择日期" : "请填写数值");
    if (c.op === "between") {
      var b = f.numeric ? num(c.v2, pct) : String(c.v2 || "");
      if (String(c.v2).trim() === "") errs.push(f.type === "date" ? "请选择日期" : "请填写区间上限");
      return {"<=": [a, lhs, b]};
    }
    var out = {};
    out[c.op || ">="] = [lhs, a];
    return out;
  };

  RuleBuilder.prototype.nodeJson = function (node, path, map) {
    map.push([path, node.id]);
    if (node.kind === "raw") return node.json;
    if (node.kind === "cond") {
      var errs = [];
      var out = this.condJson(node, errs);
      if (errs.length) this.clientErrors[node.id] = errs;
      return out;
    }
    var self = this, base = node.neg ? path + "/!/0" : path;
    if (!node.children.length) this.clientErrors[node.id] = ["组内至少要有一个条件"];
    var inner = {};
    inner[node.op] = [];
    node.children.forEach(function (kid) {
      var j = self.nodeJson(kid, base + "/" + node.op + "/" + inner[node.op].length, map);
      if (j !== null) inner[node.op].push(j);
    });
    return node.neg ? {"!": [inner]} : inner;
  };

  RuleBuilder.prototype.amountJson = function () {
    var a = this.amount, errs = [];
    var out = null;
    if (a.mode === "fixed") {
      if (!String(a.fixed).trim()) errs.push("请填写金额");
      out = num(a.fixed);
    } else if (a.mode === "pct") {
      if (!a.field) errs.push("请选择计算依据的数据项");
      if (!String(a.pct).trim()) errs.push("请填写比例");
      var key = a.field && this.fields[a.field] && this.fields[a.field].years ? a.field + "." + a.year : a.field;
      var core = {"*": [num(a.pct, true), {"var": key}]};
      out = String(a.cap).trim() ? {"min": [core, num(a.cap)]} : core;
    } else if (a.mode === "size") {
      var parts = [];
      SIZES.forEach(function (s) {
        if (String(a.sizes[s] || "").trim()) parts.push({"==": [{"var": "size_class"}, s]}, num(a.sizes[s]));
      });
      if (!parts.length) errs.push("请至少填写一档金额");
      out = {"if": parts.concat([num(String(a.other).trim() || "0")])};
    } else if (a.mode === "tiers") {
      if (!a.tfield) errs.push("请选择分档依据的数据项");
      var tkey = a.tfield && this.fields[a.tfield] && this.fields[a.tfield].years ? a.tfield + "." + a.tyear : a.tfield;
      var rows = a.tiers.filter(function (t) { return String(t.min).trim() !== "" || String(t.amt).trim() !== ""; });
      if (!rows.length) errs.push("请至少填写一档");
      rows = rows.slice().sort(function (x, y) { return Number(y.min) - Number(x.min); });
      var seq = [];
      rows.forEach(function (t) { seq.push({">=": [{"var": tkey}, num(t.min)]}, num(t.amt)); });
      out = {"if": seq.concat([num(String(a.telse).trim() || "0")])};
    } else if (a.mode === "raw") {
      out = a.raw;
    } else if (this.data.amount_required) {
      errs.push("免申即享和即申即享事项须有金额公式");
    }
    this.amountClientErrors = errs;
    return out;
  };

  RuleBuilder.prototype.sync = function () {
    this.clientErrors = {};
    this.paths = [];
    this.ruleJson = this.nodeJson(this.root, "", this.paths);
    this.amountValue = this.amountJson();
    this.ruleInput.value = JSON.stringify(this.ruleJson);
    this.amountInput.value = this.amountValue === null ? "" : JSON.stringify(this.amountValue);
    if (this.jsonBox) {
      this.jsonBox.textContent = "资格规则 rule:\n" + JSON.stringify(this.ruleJson, null, 2) +
        "\n\n金额公式 amount（万元）:\n" + JSON.stringify(this.amountValue, null, 2);
    }
  };

  // ------------------------------------------------------------------------ errors

  RuleBuilder.prototype.owner = function (path) {
    var best = null;
    this.paths.forEach(function (p) {
      if ((path === p[0] || path.indexOf(p[0] + "/") === 0 || p[0] === "") && (best === null || p[0].length >= best[0].length)) best = p;
    });
    return best ? best[1] : this.root.id;
  };

  RuleBuilder.prototype.applyServer = function (ruleErrors, amountErrors) {
    var self = this;
    this.serverErrors = {};
    (ruleErrors || []).forEach(function (e) {
      var id = self.owner(e.path || "");
      (self.serverErrors[id] = self.serverErrors[id] || []).push({text: e.message, path: e.path || ""});
    });
    this.amountServerErrors = (amountErrors || []).map(function (e) { return e.message; });
    this.paintErrors();
  };

  RuleBuilder.prototype.errorsOf = function (id) {
    return this.clientErrors[id] || this.serverErrors[id] || [];
  };

  RuleBuilder.prototype.paintErrors = function () {
    var self = this;
    if (!this.touched) return;
    this.tree.querySelectorAll("[data-node]").forEach(function (box) {
      var errs = self.errorsOf(box.getAttribute("data-node"));
      var slot = box.querySelector(":scope > .rb-err");
      if (slot) {
        slot.innerHTML = "";
        errs.forEach(function (e, i) {
          if (i) slot.appendChild(document.createTextNode("；"));
          slot.appendChild(document.createTextNode(typeof e === "string" ? e : e.text));
          // the JSON-pointer path of the error, for the advanced view
          if (e.path) slot.appendChild(el("code", {class: "rb-path", title: "错误位置（JSON 路径）", text: " " + e.path}));
        });
      }
      box.classList.toggle("bad", errs.length > 0);
    });
    var aerr = document.getElementById("rb-amount-err");
    if (aerr) aerr.textContent = (this.amountClientErrors.length ? this.amountClientErrors : this.amountServerErrors || []).join("；");
  };

  RuleBuilder.prototype.errorCount = function () {
    var self = this, n = 0;
    this.paths.forEach(function (p) { n += self.errorsOf(p[1]).length; });
    return n + (this.amountClientErrors.length || (this.amountServerErrors || []).length);
  };

  // ------------------------------------------------------------------------ talking to the server

  RuleBuilder.prototype.changed = function (structural) {
    this.touched = true;
    if (structural) this.render();
    this.sync();
    this.serverErrors = {};
    this.amountServerErrors = [];
    this.paintErrors();
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.check(); }, 300);
  };

  RuleBuilder.prototype.check = function () {
    var self = this, raws = [];
    (function walk(n) {
      if (n.kind === "raw") raws.push(n);
      (n.children || []).forEach(walk);
    })(this.root);
    var seq = (this.checkSeq = (this.checkSeq || 0) + 1);
    this.preview.classList.add("busy");
    post(this.data.check_url, {rule: this.ruleJson, amount: this.amountValue, snippets: raws.map(function (r) { return r.json; })})
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (seq !== self.checkSeq) return;
        self.preview.classList.remove("busy");
        self.applyServer(res.rule.errors, res.amount.errors);
        (res.snippets || []).forEach(function (s, i) { raws[i].text = s.text; });
        self.tree.querySelectorAll(".rb-raw-text").forEach(function (node) {
          var raw = raws.filter(function (r) { return r.id === node.getAttribute("data-raw"); })[0];
          if (raw) node.textContent = raw.text || "";
        });
        var amountRaw = document.getElementById("rb-amount-raw-text");
        if (amountRaw) amountRaw.textContent = res.amount.text || "";
        self.showPreview(res);
      })
      .catch(function () { self.preview.classList.remove("busy"); });
  };

  RuleBuilder.prototype.showPreview = function (res) {
    var box = this.preview, n = this.errorCount();
    box.innerHTML = "";
    if (!this.touched) {
      box.appendChild(el("span", {class: "hint", text: "请选择数据项并填写取值，这里会用中文显示完整的规则。"}));
      return;
    }
    box.classList.toggle("bad", n > 0);
    if (n > 0) {
      box.appendChild(el("p", {}, [el("strong", {text: "还有 " + n + " 处需要修改"}), "，已在对应条件旁标出红字；修改后才能保存。"]));
    }
    if (res.rule.ok && res.rule.text) {
      box.appendChild(el("div", {class: "say", id: "rb-say"}, [el("span", {class: "label-inline", text: "符合以下条件的市场主体可享受："}), el("br"), res.rule.text]));
    }
    if (this.amountValue !== null && res.amount.ok && res.amount.text) {
      box.appendChild(el("div", {class: "say", id: "rb-say-amount", style: "margin-top:.4rem"},
        [el("span", {class: "label-inline", text: "金额（万元）= "}), res.amount.text]));
    } else if (this.amountValue === null && !this.data.amount_required) {
      box.appendChild(el("div", {class: "hint", text: "不设金额公式：由审核部门逐件核定金额。"}));
    }
  };

  RuleBuilder.prototype.onSubmit = function (ev) {
    this.touched = true;
    this.sync();
    this.paintErrors();
    if (Object.keys(this.clientErrors).length || this.amountClientErrors.length) {
      ev.preventDefault();
      var first = this.tree.querySelector(".bad") || document.getElementById("rb-amount");
      if (first) first.scrollIntoView({behavior: "smooth", block: "center"});
      alert("还有未填写完整的条件或金额，请按红字提示修改后再保存。");
    }
  };

  RuleBuilder.prototype.simulate = function () {
    var self = this, box = document.getElementById("rb-sim"), btn = document.getElementById("rb-simulate");
    this.sync();
    btn.disabled = true;
    box.innerHTML = "";
    box.appendChild(el("p", {class: "hint", text: "正在全县市场主体库上测算……"}));
    var budget = document.getElementById("rb-budget");
    post(this.data.simulate_url, {rule: this.ruleJson, amount: this.amountValue, budget_wan: budget ? budget.value : ""})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        btn.disabled = false;
        box.innerHTML = html;
        drawCharts(box);
        box.scrollIntoView({behavior: "smooth", block: "start"});
      })
      .catch(function () { btn.disabled = false; box.textContent = "测算失败，请稍后重试。"; });
  };

  // ------------------------------------------------------------------------ drawing the conditions

  RuleBuilder.prototype.fieldOptions = function () {
    var groups = {enterprise: [], figure: [], fact: []}, self = this;
    Object.keys(this.fields).forEach(function (k) {
      var f = self.fields[k];
      var label = f.label_zh + (f.unit_zh ? "（" + f.unit_zh + "）" : "");
      var g = f.source === "figure" ? "figure" : f.source === "fact" ? "fact" : "enterprise";
      groups[g].push([k, f.base.slice(-2) === ".*" ? label.replace("{param}", "…") : label]);
    });
    var out = [["", "— 选择数据项 —"], {group: "企业登记信息", options: groups.enterprise},
      {group: "年度数据", options: groups.figure}];
    if (groups.fact.length) out.push({group: "其他数据", options: groups.fact});
    return out;
  };

  RuleBuilder.prototype.opsFor = function (f, c) {
    if (!f) return [];
    if (f.numeric && c && c.calc === "growth") return NUM_OPS.slice(0, 4);
    if (f.numeric) return NUM_OPS;
    if (f.type === "date") return DATE_OPS;
    if (f.type === "bool") return BOOL_OPS;
    if (f.type === "code") return CODE_OPS;
    return SET_OPS;
  };

  RuleBuilder.prototype.render = function () {
    this.tree.innerHTML = "";
    this.tree.appendChild(this.drawGroup(this.root, null));
  };

  RuleBuilder.prototype.drawGroup = function (g, parent) {
    var self = this;
    var head = el("div", {class: "rb-head"}, [
      parent ? null : el("span", {text: "市场主体须满足"}),
      select([["and", "以下全部条件"], ["or", "以下任一条件"]], g.op, {
        class: "rb-group-op", "aria-label": "组合方式",
        onchange: function (ev) { g.op = ev.target.value; self.changed(true); }}),
      parent ? el("label", {class: "inline"}, [el("input", {type: "checkbox", checked: g.neg,
        onchange: function (ev) { g.neg = ev.target.checked; self.changed(false); }}), "取反（都不满足）"]) : null,
      parent ? el("button", {type: "button", class: "rb-x", title: "删除这一组", "aria-label": "删除这一组", text: "✕",
        onclick: function () { parent.children.splice(parent.children.indexOf(g), 1); self.changed(true); }}) : null,
    ]);
    var kids = el("div", {class: "rb-kids"});
    g.children.forEach(function (kid) {
      kids.appendChild(kid.kind === "group" ? self.drawGroup(kid, g) : kid.kind === "raw" ? self.drawRaw(kid, g) : self.drawCond(kid, g));
    });
    var adds = el("div", {class: "buttons", style: "margin-top:.4rem"}, [
      el("button", {type: "button", class: "rb-add rb-add-cond", text: "＋ 添加条件",
        onclick: function () { g.children.push(self.cond()); self.changed(true); }}),
      el("button", {type: "button", class: "rb-add rb-add-group", text: "＋ 添加条件组（任一/全部）",
        onclick: function () { g.children.push(self.group(g.op === "and" ? "or" : "and", [self.cond()])); self.changed(true); }}),
    ]);
    return el("div", {class: "rb-group " + g.op, "data-node": g.id}, [head, kids, adds, el("div", {class: "rb-err", role: "alert"})]);
  };

  RuleBuilder.prototype.drawRaw = function (r, parent) {
    var self = this;
    return el("div", {class: "rb-cond rb-raw", "data-node": r.id}, [
      el("div", {style: "grid-column:1/4"}, [
        el("div", {}, [el("span", {class: "tag amber", text: "高级条件（只读）"}), " ", el("span", {class: "rb-raw-text", "data-raw": r.id, text: r.text || ""})]),
        el("code", {class: "hint", text: JSON.stringify(r.json)})]),
      el("button", {type: "button", class: "rb-x", title: "删除", "aria-label": "删除条件", text: "✕",
        onclick: function () { parent.children.splice(parent.children.indexOf(r), 1); self.changed(true); }}),
      el("div", {class: "rb-err", role: "alert"})]);
  };

  RuleBuilder.prototype.drawCond = function (c, parent) {
    var self = this, f = this.fields[c.field];
    var fieldBox = el("div", {class: "rb-field"}, [select(this.fieldOptions(), c.field, {
      class: "rb-field-select", "aria-label": "数据项",
      onchange: function (ev) {
        c.field = ev.target.value;
        var nf = self.fields[c.field];
        c.op = self.opsFor(nf).length ? self.opsFor(nf)[0][0] : "";
        c.v = c.v2 = ""; c.vals = []; c.calc = "value"; c.den = "";
        self.changed(true);
      }})]);
    if (f && f.years) {
      var sub = el("div", {class: "rb-sub"});
      var calcs = [["value", "单年数值"], ["sum", "近几年合计"], ["growth", "比某年增长（%）"], ["increase", "比某年增加"]];
      if (f.numeric) calcs.push(["ratio", "占另一项的比例"]);
      sub.appendChild(select(calcs, c.calc, {class: "rb-calc", "aria-label": "取值方式",
        onchange: function (ev) {
          c.calc = ev.target.value;
          if (c.calc === "ratio" && !c.den) c.den = "figures.revenue_wan";
          if (c.calc !== "value") c.dflt = "";
          self.changed(true);
        }}));
      if (c.calc === "sum") {
        sub.appendChild(document.createTextNode("近"));
        sub.appendChild(select([["2", "2"], ["3", "3"], ["4", "4"], ["5", "5"]], c.n, {class: "rb-n", "aria-label": "年数",
          onchange: function (ev) { c.n = ev.target.value; self.changed(false); }}));
        sub.appendChild(document.createTextNode("年"));
      } else {
        sub.appendChild(select(Object.keys(YEARS).map(function (y) { return [y, YEARS[y]]; }), c.year, {class: "rb-year", "aria-label": "年度",
          onchange: function (ev) { c.year = ev.target.value; self.changed(false); }}));
      }
      if (c.calc === "growth" || c.calc === "increase") {
        sub.appendChild(document.createTextNode("比"));
        sub.appendChild(select(Object.keys(YEARS).filter(function (y) { return y !== "last"; }).map(function (y) { return [y, YEARS[y]]; }),
          c.year2, {class: "rb-year2", "aria-label": "对比年度", onchange: function (ev) { c.year2 = ev.target.value; self.changed(false); }}));
      }
      if (c.calc === "value" && f.numeric) {
        sub.appendChild(el("label", {class: "inline", title: "如“首次入规”：前年没有数据的企业按 0 计"}, [
          el("input", {type: "checkbox", class: "rb-dflt", checked: c.dflt !== "", onchange: function (ev) { c.dflt = ev.target.checked ? "0" : ""; self.changed(false); }}),
          "缺失按 0 计"]));
      }
      if (c.calc === "ratio") {
        sub.appendChild(document.createTextNode("÷"));
        var dens = Object.keys(this.fields).filter(function (k) { return self.fields[k].years && self.fields[k].numeric && k !== c.field; })
          .map(function (k) { return [k, self.fields[k].label_zh]; });
        sub.appendChild(select(dens, c.den, {class: "rb-den", "aria-label": "除以",
          onchange: function (ev) { c.den = ev.target.value; self.changed(false); }}));
      }
      fieldBox.appendChild(sub);
    }
    if (f && c.field.slice(-2) === ".*") {
      var codes = (this.data.item_codes || []).map(function (x) { return [x[0], x[0] + " " + x[1]]; });
      fieldBox.appendChild(el("div", {class: "rb-sub"}, ["事项编码", select([["", "— 选择 —"]].concat(codes), c.param, {class: "rb-param", "aria-label": "事项编码",
        onchange: function (ev) { c.param = ev.target.value; self.changed(false); }})]));
    }
    if (f && (!c.op || !this.opsFor(f, c).some(function (o) { return o[0] === c.op; }))) c.op = this.opsFor(f, c)[0][0];
    var opBox = el("div", {class: "rb-op"}, f ? [select(this.opsFor(f, c), c.op, {class: "rb-op-select", "aria-label": "判断",
      onchange: function (ev) { c.op = ev.target.value; self.changed(true); }})] : []);
    return el("div", {class: "rb-cond", "data-node": c.id}, [
      fieldBox, opBox, el("div", {class: "rb-value"}, f ? this.drawValue(c, f) : [el("span", {class: "hint", text: "先选择数据项"})]),
      el("button", {type: "button", class: "rb-x", title: "删除条件", "aria-label": "删除条件", text: "✕",
        onclick: function () { parent.children.splice(parent.children.indexOf(c), 1); self.changed(true); }}),
      el("div", {class: "rb-err", role: "alert"})]);
  };

  RuleBuilder.prototype.drawValue = function (c, f) {
    var self = this;
    function input(key, attrs) {
      return el("input", Object.assign({type: "text", value: c[key], class: "rb-" + key, autocomplete: "off",
        oninput: function (ev) { c[key] = ev.target.value; self.changed(false); }}, attrs || {}));
    }
    if (f.type === "bool") return [el("span", {class: "hint", text: c.op === "false" ? "不是" + f.label_zh : "是" + f.label_zh})];
    if (f.type === "code") {
      var list = el("datalist", {id: "rb-sections-" + c.id}, (this.data.sections || []).map(function (s) {
        return el("option", {value: s[0], text: s[0] + " " + s[1]}); }));
      return [input("v", {placeholder: "行业代码，如 C、I65、3911（多个用逗号分隔）", list: list.id, "aria-label": "行业代码"}), list,
        el("span", {class: "hint", text: "门类字母（C 制造业）、大类（C39）、中类或小类，按代码开头匹配"})];
    }
    if (f.type === "enum" || (f.type === "string" && f.choices)) {
      var choices = (f.choices || []).map(function (ch) { return [ch.value, ch.label_zh]; });
      if (f.none_label_zh) choices.push([null, f.none_label_zh]);
      var box = el("div", {class: "rb-checks", role: "group", "aria-label": f.label_zh});
      choices.forEach(function (ch) {
        var on = c.vals.some(function (v) { return v === ch[0]; });
        box.appendChild(el("label", {}, [el("input", {type: "checkbox", checked: on, onchange: function (ev) {
          c.vals = c.vals.filter(function (v) { return v !== ch[0]; });
          if (ev.target.checked) c.vals.push(ch[0]);
          self.changed(false);
        }}), ch[1]]));
      });
      if (!choices.length) box.appendChild(el("span", {class: "hint", text: "暂无可选值"}));
      return [box];
    }
    if (f.type === "string") return [input("v", {placeholder: "多个取值用逗号分隔", "aria-label": f.label_zh})];
    var unit = c.calc === "ratio" || c.calc === "growth" ? "%" : f.unit_zh;
    var type = f.type === "date" ? "date" : "text";
    var attrs = {type: type, inputmode: type === "text" ? "decimal" : null, "aria-label": "数值"};
    if (c.op === "between") {
      return [el("div", {class: "pair"}, [input("v", attrs), el("span", {text: "至"}), input("v2", Object.assign({}, attrs, {"aria-label": "上限"})),
        unit ? el("span", {class: "rb-unit", text: unit}) : null])];
    }
    return [el("div", {class: "pair"}, [input("v", attrs), unit ? el("span", {class: "rb-unit", text: unit}) : null])];
  };

  // ------------------------------------------------------------------------ drawing the amount formula

  RuleBuilder.prototype.numericOptions = function () {
    var self = this;
    return [["", "— 选择数据项 —"]].concat(Object.keys(this.fields).filter(function (k) { return self.fields[k].numeric; })
      .map(function (k) { var f = self.fields[k]; return [k, f.label_zh + (f.unit_zh ? "（" + f.unit_zh + "）" : "")]; }));
  };

  RuleBuilder.prototype.renderAmount = function () {
    var self = this, a = this.amount, box = this.amountBox;
    box.innerHTML = "";
    function text(key, attrs, target) {
      target = target || a;
      return el("input", Object.assign({type: "text", inputmode: "decimal", value: target[key], autocomplete: "off",
        oninput: function (ev) { target[key] = ev.target.value; self.changed(false); }}, attrs || {}));
    }
    function yearSel(key) {
      return select(Object.keys(YEARS).map(function (y) { return [y, YEARS[y]]; }), a[key], {"aria-label": "年度",
        onchange: function (ev) { a[key] = ev.target.value; self.changed(false); }});
    }
    var modes = [["fixed", "固定金额"], ["pct", "按某项数据的比例（可设上限）"], ["size", "按企业规模分档"], ["tiers", "按某项数据分档"]];
    if (!this.data.amount_required) modes.unshift(["none", "不设公式，由审核部门核定"]);
    if (a.mode === "raw") modes.push(["raw", "高级公式（只读）"]);
    box.appendChild(el("div", {class: "row"}, [el("label", {for: "rb-amount-mode", text: "计算方式"}),
      select(modes, a.mode, {id: "rb-amount-mode", onchange: function (ev) { a.mode = ev.target.value; self.renderAmount(); self.changed(false); }})]));
    var uf = a.field && self.fields[a.field];
    if (a.mode === "fixed") {
      box.appendChild(el("div", {class: "row"}, ["每家", text("fixed", {id: "rb-fixed", "aria-label": "固定金额"}), "万元"]));
    } else if (a.mode === "pct") {
      box.appendChild(el("div", {class: "row"}, [
        select(this.numericOptions(), a.field, {id: "rb-pct-field", "aria-label": "计算依据", onchange: function (ev) { a.field = ev.target.value; self.renderAmount(); self.changed(false); }}),
        uf && uf.years ? yearSel("year") : null, "×", text("pct", {id: "rb-pct", "aria-label": "比例"}), "%"]));
      box.appendChild(el("div", {class: "row"}, ["最高", text("cap", {id: "rb-cap", "aria-label": "上限", placeholder: "不设上限"}), "万元"]));
      if (uf && uf.unit_zh && uf.unit_zh !== "万元") box.appendChild(el("p", {class: "hint", text: "注意：" + uf.label_zh + "的单位是" + uf.unit_zh + "，结果按万元计。"}));
    } else if (a.mode === "size") {
      var grid = el("div", {class: "row"});
      SIZES.forEach(function (s) { grid.appendChild(el("label", {class: "inline"}, [s, text(s, {"aria-label": s + "企业金额"}, a.sizes), "万元"])); });
      box.appendChild(grid);
      box.appendChild(el("div", {class: "row"}, ["其他（规模未知）", text("other", {"aria-label": "其他金额", placeholder: "0"}), "万元"]));
    } else if (a.mode === "tiers") {
      var tf = a.tfield && self.fields[a.tfield];
      box.appendChild(el("div", {class: "row"}, ["按", select(this.numericOptions(), a.tfield, {"aria-label": "分档依据",
        onchange: function (ev) { a.tfield = ev.target.value; self.renderAmount(); self.changed(false); }}), tf && tf.years ? yearSel("tyear") : null]));
      var rows = el("div", {class: "rb-tiers"});
      a.tiers.forEach(function (t, i) {
        rows.appendChild(el("div", {class: "row"}, ["≥", text("min", {"aria-label": "门槛"}, t), tf ? tf.unit_zh : "", "→", text("amt", {"aria-label": "金额"}, t), "万元",
          el("button", {type: "button", class: "rb-x", text: "✕", "aria-label": "删除这一档", onclick: function () { a.tiers.splice(i, 1); self.renderAmount(); self.changed(false); }})]));
      });
      box.appendChild(rows);
      box.appendChild(el("button", {type: "button", class: "rb-add", text: "＋ 添加一档", onclick: function () { a.tiers.push({min: "", amt: ""}); self.renderAmount(); }}));
      box.appendChild(el("div", {class: "row"}, ["都不够时", text("telse", {"aria-label": "其他金额", placeholder: "0"}), "万元"]));
    } else if (a.mode === "raw") {
      box.appendChild(el("p", {}, [el("span", {class: "tag amber", text: "高级公式"}), " ", el("span", {id: "rb-amount-raw-text"})]));
      box.appendChild(el("code", {class: "hint", text: JSON.stringify(a.raw)}));
      box.appendChild(el("p", {class: "hint", text: "该公式无法用上面的方式表示，保存时原样保留；如需修改请改选计算方式重新设置。"}));
    }
    box.appendChild(el("div", {class: "rb-err", id: "rb-amount-err", role: "alert", style: "margin-top:.3rem"}));
  };

  // ------------------------------------------------------------------------ simulation charts

  function drawCharts(box) {
    var holder = box.querySelector("#sim-chart-data");
    if (!holder || typeof echarts === "undefined") return;
    var d = JSON.parse(holder.textContent);
    var town = box.querySelector("#sim-chart-township");
    if (town && d.township.names.length) {
      echarts.init(town).setOption({
        title: {text: "按乡镇（街道）", left: 8, top: 4, textStyle: {fontSize: 13}}, tooltip: {},
        grid: {left: 8, right: 24, top: 32, bottom: 8, containLabel: true},
        xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: d.township.names.slice().reverse()},
        series: [{type: "bar", data: d.township.values.slice().reverse(), itemStyle: {color: "#b4232a"}}]});
    }
    var size = box.querySelector("#sim-chart-size");
    if (size && d.size.length) {
      echarts.init(size).setOption({title: {text: "按企业规模", left: 8, top: 4, textStyle: {fontSize: 13}},
        tooltip: {trigger: "item"}, series: [{type: "pie", radius: ["35%", "62%"], top: 20, data: d.size, label: {formatter: "{b}\n{c}"}}]});
    }
    var ind = box.querySelector("#sim-chart-industry");
    if (ind && d.industry.names.length) {
      echarts.init(ind).setOption({title: {text: "按行业门类", left: 8, top: 4, textStyle: {fontSize: 13}}, tooltip: {},
        grid: {left: 8, right: 24, top: 32, bottom: 8, containLabel: true},
        xAxis: {type: "value", minInterval: 1}, yAxis: {type: "category", data: d.industry.names.slice().reverse(),
          axisLabel: {width: 130, overflow: "truncate"}},
        series: [{type: "bar", data: d.industry.values.slice().reverse(), itemStyle: {color: "#5470c6"}}]});
    }
  }

  window.RuleBuilder = RuleBuilder;
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-rule-builder]");
    if (form) window.ruleBuilder = new RuleBuilder(form);
  });
})();
