// The graph explorer written by tinygrad_nn.viz.save_html: pan and zoom the SVG, show a
// box's numbers, and step through backward one node at a time. No request leaves the page.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const viewport = document.getElementById("viewport");
  const svg = viewport.querySelector("svg");
  const boxes = new Map(); // DOT node name -> its <g class="node">

  // ----- The picture: pan and zoom -------------------------------------------------------

  const view = { scale: 1, x: 0, y: 0 };
  const size = svg.viewBox.baseVal;
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("width", size.width);
  svg.setAttribute("height", size.height);

  function apply() {
    svg.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  }

  function zoomAt(factor, cx, cy) {
    const scale = Math.min(Math.max(view.scale * factor, 0.02), 20);
    view.x = cx - (cx - view.x) * (scale / view.scale);
    view.y = cy - (cy - view.y) * (scale / view.scale);
    view.scale = scale;
    apply();
  }

  function fit() {
    const w = viewport.clientWidth, h = viewport.clientHeight;
    view.scale = Math.min(w / size.width, h / size.height, 1.5);
    view.x = (w - size.width * view.scale) / 2;
    view.y = (h - size.height * view.scale) / 2;
    apply();
  }

  function centre(element) {
    // Bring a box into view if it is outside it; zoom in first if it is too small to read.
    let box = element.getBoundingClientRect();
    const port = viewport.getBoundingClientRect();
    if (box.height < 24) {
      zoomAt(40 / Math.max(box.height, 0.1), port.width / 2, port.height / 2);
      box = element.getBoundingClientRect();
    }
    if (box.left >= port.left && box.right <= port.right &&
        box.top >= port.top && box.bottom <= port.bottom) return;
    view.x += port.left + port.width / 2 - (box.left + box.width / 2);
    view.y += port.top + port.height / 2 - (box.top + box.height / 2);
    apply();
  }

  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const port = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - port.left, event.clientY - port.top);
  }, { passive: false });

  let drag = null;
  viewport.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, moved: false };
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return; // a click, not a drag
    drag.moved = true;
    viewport.classList.add("dragging");
    view.x += dx;
    view.y += dy;
    drag.x = event.clientX;
    drag.y = event.clientY;
    apply();
  });
  viewport.addEventListener("pointerup", (event) => {
    viewport.classList.remove("dragging");
    const clicked = drag && !drag.moved;
    drag = null;
    if (clicked) {
      const element = document.elementFromPoint(event.clientX, event.clientY);
      const node = element && element.closest("g.node");
      select(node ? node.dataset.name : null);
    }
  });

  const middle = () => [viewport.clientWidth / 2, viewport.clientHeight / 2];
  document.getElementById("zoom-in").onclick = () => zoomAt(1.25, ...middle());
  document.getElementById("zoom-out").onclick = () => zoomAt(0.8, ...middle());
  document.getElementById("zoom-fit").onclick = fit;

  // ----- Boxes: hover and click for the numbers ------------------------------------------

  function element(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  function infoOf(name) {
    const info = data.nodes[name];
    return info && info.same ? data.nodes[info.same] : info;
  }

  function showDetails(name) {
    const body = document.getElementById("details-body");
    body.replaceChildren();
    const info = infoOf(name);
    if (!info) {
      body.className = "muted";
      body.textContent = "Hover over or click a box.";
      return;
    }
    body.className = "";
    const facts = element("dl");
    for (const [key, label] of [["title", "name"], ["kind", "kind"], ["op", "op"],
                                ["module", "module"], ["shape", "shape"]]) {
      if (!info[key]) continue;
      facts.append(element("dt", label), element("dd", info[key]));
    }
    body.append(facts);
    for (const key of ["data", "grad"]) {
      if (info[key] === undefined) continue;
      body.append(element("h2", key), element("pre", info[key]));
    }
    if (data.nodes[name] && data.nodes[name].same) {
      body.append(element("p", "A copy: this value is drawn in full at another place.",
                          "muted"));
    }
  }

  let selected = null;
  function select(name) {
    if (selected && boxes.has(selected)) boxes.get(selected).classList.remove("selected");
    selected = name && boxes.has(name) ? name : null;
    if (selected) boxes.get(selected).classList.add("selected");
    showDetails(selected);
  }

  for (const g of svg.querySelectorAll("g.node")) {
    const title = g.querySelector("title");
    const name = title ? title.textContent : "";
    g.dataset.name = name;
    boxes.set(name, g);
    const info = infoOf(name);
    if (title) title.textContent = info ? [info.title || info.op || info.kind, info.data]
      .filter(Boolean).join("\n").slice(0, 400) : "";
    g.addEventListener("mouseenter", () => showDetails(name));
    g.addEventListener("mouseleave", () => showDetails(selected));
  }
  // Edges and clusters keep Graphviz's names as tooltips otherwise: drop them.
  for (const title of svg.querySelectorAll("g.edge > title, g.cluster > title")) title.remove();
  document.getElementById("legend").textContent = data.legend;

  // ----- Backward, step by step (scalar graphs) ------------------------------------------

  const steps = data.steps || [];
  let step = -1; // -1: before the first step
  const fmt = (x, digits = 6) =>
    (typeof x === "number" ? Number(x.toPrecision(digits)).toString() : String(x));

  function mark(names, className) {
    for (const g of svg.querySelectorAll(`g.node.${className}`)) g.classList.remove(className);
    for (const name of names) if (boxes.has(name)) boxes.get(name).classList.add(className);
  }

  function showStep() {
    const text = document.getElementById("step-text");
    const table = document.getElementById("step-table");
    const rows = table.querySelector("tbody");
    rows.replaceChildren();
    document.getElementById("step-count").textContent = `step ${step + 1} of ${steps.length}`;
    document.getElementById("step-back").disabled = step < 0;
    document.getElementById("step-next").disabled = step >= steps.length - 1;
    document.body.dataset.step = String(step);
    if (step < 0) {
      mark([], "current");
      mark([], "receiving");
      table.hidden = true;
      text.textContent = "Backward visits the nodes from the output to the inputs. At each " +
        "node, the gradient that reached it (upstream) times the op's local derivative " +
        "is what it passes to each input. The output starts with gradient 1.";
      return;
    }
    const s = steps[step];
    mark([s.node, s.op], "current");
    mark(s.inputs.map((input) => input.node).filter(Boolean), "receiving");
    if (boxes.has(s.node)) centre(boxes.get(s.node));
    text.textContent = `Step ${step + 1}: the ${s.title} (data ${fmt(s.data)}) has received ` +
      `gradient ${fmt(s.upstream)} from above; '${s.opName}' passes on to each input ` +
      "upstream × its local derivative:";
    for (const input of s.inputs) {
      const row = element("tr");
      const formula = `${fmt(s.upstream, 4)} × ${fmt(input.local, 4)} = ` +
        fmt(input.contribution, 4);
      row.append(element("td", input.label), element("td", formula, "formula"),
                 element("td", fmt(input.total, 4), "formula"));
      rows.append(row);
    }
    table.hidden = false;
    showDetails(s.node);
  }

  function go(to) {
    step = Math.min(Math.max(to, -1), steps.length - 1);
    showStep();
  }

  if (steps.length) {
    document.getElementById("stepper").hidden = false;
    document.getElementById("step-panel").hidden = false;
    document.getElementById("step-next").onclick = () => go(step + 1);
    document.getElementById("step-back").onclick = () => go(step - 1);
    document.getElementById("step-reset").onclick = () => go(-1);
    showStep();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "+" || event.key === "=") zoomAt(1.25, ...middle());
    else if (event.key === "-") zoomAt(0.8, ...middle());
    else if (event.key === "0") fit();
    else if (event.key === "ArrowRight" && steps.length) go(step + 1);
    else if (event.key === "ArrowLeft" && steps.length) go(step - 1);
  });

  fit();
  window.addEventListener("resize", fit);
  document.body.dataset.ready = "1";
})();
