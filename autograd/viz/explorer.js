// glassgrad's explorer: steps through the forward and backward passes of one graph.
//
// The page holds the graph as graphviz drew it (the backward view, in the state of the
// first step) and the steps as JSON. A step is a list of changes to slots (the text of a
// number cell, a CSS class, a data attribute); the state after step t of each slot is
// the value set by the last step <= t that changes it, so jumping anywhere touches
// only the slots changed between here and there. The script computes nothing: every
// number was written by glassgrad.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const steps = data.steps;
  const slots = data.slots;
  const last = steps.length - 1;
  const shown = data.initial.slice(); // what the page shows now, slot by slot
  const $ = (id) => document.getElementById(id);
  const graph = $("graph");

  // For each slot: the steps that change it (ascending) and the values they set.
  const when = slots.map(() => []);
  const what = slots.map(() => []);
  steps.forEach((step, k) =>
    step.changes.forEach(([s, v]) => {
      when[s].push(k);
      what[s].push(v);
    }),
  );
  const slotOf = new Map(slots.map(([id, kind, name], s) => [`${id}|${kind}|${name}`, s]));

  function valueAt(s, t) {
    const ks = when[s];
    let lo = 0;
    let hi = ks.length; // first index whose step is > t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ks[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? data.initial[s] : what[s][lo - 1];
  }

  const elements = new Map();
  function element(id) {
    if (!elements.has(id)) elements.set(id, $(id));
    return elements.get(id);
  }

  function setText(el, text) {
    const texts = el.getElementsByTagName("text");
    const t = el.tagName === "text" ? el : texts[texts.length - 1];
    if (!t) return;
    t.textContent = text;
    // data-room: the characters graphviz sized the cell for.
    if (text.length > Number(t.dataset.room)) squeeze(el, t);
    else t.removeAttribute("textLength");
  }
  // A running sum can be longer than the final one the cell was sized for: fit it.
  function squeeze(el, t) {
    const box = el.getElementsByTagName("polygon")[0];
    if (!box) return;
    const width = box.getBBox().width - 6;
    if (t.getComputedTextLength() > width) {
      t.setAttribute("textLength", width);
      t.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  function write(s, v) {
    const [id, kind, name] = slots[s];
    const el = element(id);
    if (!el) return;
    if (kind === "class") el.classList.toggle(name, v);
    else if (kind === "attr") v === null ? el.removeAttribute(name) : el.setAttribute(name, v);
    else setText(el, v === null ? "" : v);
  }

  function focus(ids, on) {
    for (const id of ids) {
      const el = element(id);
      if (el) el.classList.toggle("now", on);
    }
  }

  // Scroll what the step is about into the middle of the graph's box, if it is not
  // already in view.
  function reveal(el) {
    if (!el) return;
    const r = el.getBoundingClientRect();
    const view = graph.getBoundingClientRect();
    if (r.top < view.top || r.bottom > view.bottom || r.left < view.left || r.right > view.right) {
      el.scrollIntoView({ block: "center", inline: "center" });
    }
  }

  // A jump writes at most CHUNK slots per frame: going from the start to the end of
  // a big graph changes thousands, and one frame must not do them all.
  const CHUNK = 250;
  let at = 0;
  const pending = new Map(); // slot -> the state step `at` gives it, not yet written
  const seen = new Uint32Array(slots.length);
  let stamp = 0;
  let scheduled = false;
  function go(target) {
    const t = Math.max(0, Math.min(last, target));
    stamp += 1;
    const lo = Math.min(at, t);
    const hi = Math.max(at, t);
    for (let k = lo + 1; k <= hi; k++) {
      for (const [s] of steps[k].changes) {
        if (seen[s] === stamp) continue;
        seen[s] = stamp;
        pending.set(s, valueAt(s, t));
      }
    }
    focus(steps[at].focus, false);
    at = t;
    focus(steps[at].focus, true);
    const step = steps[at];
    slider.value = String(at);
    $("counter").textContent = `${at} / ${last}`;
    $("caption").textContent = step.caption;
    flush();
  }
  function flush() {
    let written = 0;
    for (const [s, v] of pending) {
      pending.delete(s);
      if (v === shown[s]) continue;
      shown[s] = v;
      write(s, v);
      if (++written >= CHUNK) break;
    }
    if (pending.size === 0) settled();
    else if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        flush();
      });
    }
  }
  // The page shows step `at` in full: say so (tests wait for data-step) and, once
  // the steps pause for a moment, bring what the step is about into view. Scrolling
  // a big drawing costs more than a step; chasing every step of a run of key presses
  // would only blur past.
  let revealing = null;
  function settled() {
    document.body.dataset.step = String(at);
    document.body.dataset.phase = steps[at].phase;
    renderDetails();
    clearTimeout(revealing);
    revealing = setTimeout(() => reveal(steps[at].focus.length ? element(steps[at].focus[0]) : null), 150);
  }

  // -- the controls ------------------------------------------------------------------
  const slider = $("slider");
  const playButton = $("play");
  slider.max = String(last);
  let timer = null;

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "play ▶";
  }
  function play() {
    if (at >= last) go(0);
    const perSecond = Number($("speed").value);
    timer = setInterval(() => {
      go(at + 1);
      if (at >= last) pause();
    }, 1000 / perSecond);
    playButton.textContent = "pause ❚❚";
  }
  const toggle = () => (timer === null ? play() : pause());
  const stepTo = (t) => {
    pause();
    go(t);
  };

  $("first").addEventListener("click", () => stepTo(0));
  $("prev").addEventListener("click", () => stepTo(at - 1));
  $("next").addEventListener("click", () => stepTo(at + 1));
  $("last").addEventListener("click", () => stepTo(last));
  playButton.addEventListener("click", toggle);
  $("speed").addEventListener("change", () => {
    if (timer !== null) {
      pause();
      play();
    }
  });
  slider.addEventListener("input", () => stepTo(Number(slider.value)));
  $("fit").addEventListener("change", (event) => graph.classList.toggle("fit", event.target.checked));

  const keys = {
    ArrowRight: () => stepTo(at + 1),
    ArrowLeft: () => stepTo(at - 1),
    Home: () => stepTo(0),
    End: () => stepTo(last),
    " ": toggle,
  };
  document.addEventListener("keydown", (event) => {
    const action = keys[event.key];
    if (!action || event.altKey || event.ctrlKey || event.metaKey) return;
    // The slider and the speed menu handle their own arrow keys.
    const tag = event.target.tagName;
    if ((tag === "INPUT" || tag === "SELECT") && event.key !== " ") return;
    event.preventDefault();
    action();
  });

  // -- details of the clicked box ------------------------------------------------------
  let selected = null;
  graph.addEventListener("click", (event) => {
    const box = event.target.closest("g.node");
    if (!box || !data.boxes[box.id]) return;
    event.preventDefault();
    if (selected) element(selected).classList.remove("selected");
    selected = box.id;
    box.classList.add("selected");
    renderDetails();
  });

  function renderDetails() {
    const panel = $("details");
    if (selected === null) return;
    const info = data.boxes[selected];
    panel.replaceChildren();
    const add = (tag, text, cls) => {
      const el = document.createElement(tag);
      el.textContent = text;
      if (cls) el.className = cls;
      panel.appendChild(el);
      return el;
    };
    add("h2", info.title);
    const done = slotOf.has(`${selected}|class|todo`) ? !shown[slotOf.get(`${selected}|class|todo`)] : true;
    for (const [label, text] of info.facts) {
      add("h3", label);
      add("pre", text);
    }
    if (info.value !== undefined) {
      add("h3", "value");
      add("pre", done ? info.value : "not computed yet: step forward to its op");
    }
    if (info.grad !== undefined) {
      const s = slotOf.get(`${selected}-grad|text|`);
      const now = s === undefined ? null : shown[s];
      add("h3", `${info.d} at this step`);
      add("pre", now === null ? "— (the backward pass has not reached it yet)" : now);
      add("h3", `${info.d} after the whole backward pass`);
      add("pre", info.grad);
    }
    if (info.explain) {
      add("h3", "the chain rule: explain()");
      add("pre", info.explain, "explain");
    }
  }

  // The drawing arrives in the state of the first step. It is moved out of its
  // template a few hundred elements per frame, so a big graph never stalls the page.
  function mount() {
    const source = $("drawing").content.firstElementChild;
    const items = Array.from(source.firstElementChild.children);
    const svg = source.cloneNode(false);
    const layer = source.firstElementChild.cloneNode(false);
    svg.appendChild(layer);
    graph.appendChild(svg);
    let i = 0;
    requestAnimationFrame(function batch() {
      const end = Math.min(items.length, i + 200);
      while (i < end) layer.appendChild(items[i++]);
      if (i < items.length) requestAnimationFrame(batch);
      else go(0);
    });
  }
  mount();
})();
