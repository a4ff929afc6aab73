// The review page: the model's boxes over the image, edited with the keyboard or the mouse, saved as
// ground truth. No framework and no build step: the page's state arrives as JSON in the HTML.
"use strict";

(() => {
  const state = JSON.parse(document.getElementById("review-state").textContent);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("overlay");
  const list = document.getElementById("box-list");
  const statusLine = document.getElementById("status-line");
  const drawButton = document.getElementById("draw");
  const classes = state.classes.slice();
  const W = state.image.width;
  const H = state.image.height;

  // Each box: {class, x_min, y_min, x_max, y_max, confidence, source, state}; state is
  // "pending" (undecided), "accepted" or "rejected".
  let boxes = state.boxes.map((b) => ({ ...b }));
  let selected = boxes.length ? 0 : -1;
  let drawMode = false;
  let drag = null;
  let saving = false;
  let lastClass = classes[0] || "";

  const CROWDED = 8; // boxes on one frame before labels shrink to numbers
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"];
  const colourOf = (name) => {
    const i = classes.indexOf(name);
    return COLOURS[(i < 0 ? classes.length : i) % COLOURS.length];
  };

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "status-line" + (kind ? " " + kind : "");
  }

  function toImage(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const p = point.matrixTransform(svg.getScreenCTM().inverse());
    return { x: Math.min(Math.max(p.x, 0), W), y: Math.min(Math.max(p.y, 0), H) };
  }

  // ------------------------------------------------------------------ drawing the overlay
  // Labels: "number class confidence" on a solid tag, placed where it overlaps no other label
  // (above the box, inside its top, below it, inside its bottom), so neighbours never run together.
  function placeLabels(labels, scale) {
    const placed = [];
    const overlaps = (r) => placed.some((p) => r.x < p.x + p.w && p.x < r.x + r.w && r.y < p.y + p.h && p.y < r.y + r.h);
    for (const { text, bg, box } of labels) {
      const size = text.getBBox();
      const w = size.width + 6 * scale;
      const h = size.height + 2 * scale;
      const x = Math.min(Math.max(box.x_min, 0), Math.max(W - w, 0));
      const candidates = [box.y_min - h, box.y_min, box.y_max, box.y_max - h]
        .map((y) => Math.min(Math.max(y, 0), Math.max(H - h, 0)));
      let spot = candidates.map((y) => ({ x, y, w, h })).find((r) => !overlaps(r));
      if (!spot) {  // crowded: stack below the lowest label that collides
        let y = candidates[0];
        while (overlaps({ x, y, w, h }) && y + h < H) y += h;
        spot = { x, y: Math.min(y, Math.max(H - h, 0)), w, h };
      }
      placed.push(spot);
      bg.setAttribute("x", spot.x);
      bg.setAttribute("y", spot.y);
      bg.setAttribute("width", spot.w);
      bg.setAttribute("height", spot.h);
      text.setAttribute("x", spot.x + 3 * scale);
      text.setAttribute("y", spot.y + spot.h - 4 * scale);
    }
  }

  function render() {
    const scale = W / Math.max(svg.clientWidth || W, 1);
    svg.replaceChildren();
    const labels = [];
    boxes.forEach((b, i) => {
      const g = document.createElementNS(SVG_NS, "g");
      g.setAttribute("class", `box state-${b.state} source-${b.source}` + (i === selected ? " selected" : ""));
      g.dataset.index = String(i);
      const rect = document.createElementNS(SVG_NS, "rect");
      rect.setAttribute("class", "frame");
      rect.setAttribute("x", b.x_min);
      rect.setAttribute("y", b.y_min);
      rect.setAttribute("width", Math.max(b.x_max - b.x_min, 0));
      rect.setAttribute("height", Math.max(b.y_max - b.y_min, 0));
      rect.setAttribute("stroke", colourOf(b.class));
      g.appendChild(rect);
      const tag = document.createElementNS(SVG_NS, "rect");
      tag.setAttribute("class", "label-bg");
      tag.setAttribute("fill", colourOf(b.class));
      tag.setAttribute("rx", 2 * scale);
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("class", "label");
      label.setAttribute("font-size", 13 * scale);
      label.setAttribute("fill", "#fff");
      // On crowded frames only the selected box is named in full; the others show their number
      // (their class is their colour, and the list beside the image names them all).
      const full = boxes.length <= CROWDED || i === selected;
      label.textContent = full
        ? `${i + 1} ${b.class}` + (b.confidence != null ? ` ${b.confidence.toFixed(2)}` : "")
        : `${i + 1}`;
      g.append(tag, label);
      labels.push({ text: label, bg: tag, box: b });
      g.addEventListener("mousedown", (event) => {
        if (drawMode || event.button !== 0) return;
        event.stopPropagation();
        event.preventDefault();
        if (i !== selected) return select(i);
        beginEdit(event, i, "move"); // drag the selected box to move it
      });
      if (i === selected) {
        const size = 9 * scale;
        for (const corner of ["nw", "ne", "sw", "se"]) {
          const handle = document.createElementNS(SVG_NS, "rect");
          handle.setAttribute("class", `handle handle-${corner}`);
          handle.setAttribute("x", (corner[1] === "w" ? b.x_min : b.x_max) - size / 2);
          handle.setAttribute("y", (corner[0] === "n" ? b.y_min : b.y_max) - size / 2);
          handle.setAttribute("width", size);
          handle.setAttribute("height", size);
          handle.addEventListener("mousedown", (event) => {
            if (drawMode || event.button !== 0) return;
            event.stopPropagation();
            event.preventDefault();
            beginEdit(event, i, corner); // drag a corner to resize
          });
          g.appendChild(handle);
        }
      }
      svg.appendChild(g);
    });
    placeLabels(labels, scale);
    if (drag && drag.current) {
      const r = document.createElementNS(SVG_NS, "rect");
      const [x0, y0, x1, y1] = dragBox();
      r.setAttribute("class", "drawing");
      r.setAttribute("x", x0);
      r.setAttribute("y", y0);
      r.setAttribute("width", x1 - x0);
      r.setAttribute("height", y1 - y0);
      svg.appendChild(r);
    }
    renderList();
  }

  function renderList() {
    list.replaceChildren();
    boxes.forEach((b, i) => {
      const li = document.createElement("li");
      li.className = `state-${b.state}` + (i === selected ? " selected" : "");
      li.dataset.index = String(i);
      const choose = document.createElement("select");
      choose.className = "class-select";
      choose.setAttribute("aria-label", `class of box ${i + 1}`);
      for (const name of classes) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        option.selected = name === b.class;
        choose.appendChild(option);
      }
      choose.addEventListener("change", () => setClass(i, choose.value));
      choose.addEventListener("focus", () => { if (selected !== i) { selected = i; render(); choose.focus(); } });
      const info = document.createElement("span");
      info.className = "info";
      const source = { prediction: "model", ground_truth: "saved", feedback: "user", drawn: "drawn" }[b.source] || b.source;
      const verdict = { pending: "undecided", accepted: "accepted", rejected: "rejected" }[b.state] || b.state;
      info.textContent = `${source}${b.confidence != null ? " " + b.confidence.toFixed(2) : ""} · ${verdict}`;
      info.title = info.textContent;
      const accept = button("✓", `accept box ${i + 1}`, () => { select(i); decide("accepted"); });
      const reject = button("✗", `reject box ${i + 1}`, () => { select(i); decide("rejected"); });
      const remove = button("del", `delete box ${i + 1}`, () => { select(i); removeSelected(); });
      const number = document.createElement("span");
      number.className = "n";
      number.textContent = String(i + 1);
      li.append(number, choose, info, accept, reject, remove);
      li.addEventListener("click", (event) => { if (event.target === li || event.target === info) select(i); });
      list.appendChild(li);
    });
    const pending = boxes.filter((b) => b.state === "pending").length;
    const accepted = boxes.filter((b) => b.state === "accepted").length;
    document.getElementById("box-count").textContent = `${accepted} accepted · ${pending} undecided`;
  }

  function button(text, label, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = label;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", (event) => { event.stopPropagation(); action(); });
    return b;
  }

  // ------------------------------------------------------------------ editing
  function select(i) {
    selected = boxes.length ? (i + boxes.length) % boxes.length : -1;
    render();
  }

  // Undo: every edit first saves a copy of the boxes.
  const undoStack = [];

  function remember() {
    undoStack.push({ boxes: boxes.map((b) => ({ ...b })), selected });
    if (undoStack.length > 200) undoStack.shift();
  }

  function undo() {
    const last = undoStack.pop();
    if (!last) return say("Nothing to undo.", "warn");
    boxes = last.boxes;
    selected = Math.min(last.selected, boxes.length - 1);
    edit = null;
    render();
    say("Undone.");
  }

  function decide(verdict) {
    if (selected < 0) return say("No box selected.", "warn");
    remember();
    boxes[selected].state = verdict;
    const next = boxes.findIndex((b, j) => j > selected && b.state === "pending");
    if (next >= 0) selected = next;
    render();
  }

  function setClass(i, name) {
    if (i < 0 || !name) return;
    remember();
    boxes[i].class = name;
    lastClass = name;
    if (boxes[i].state === "pending") boxes[i].state = "accepted"; // correcting a box is a decision
    render();
  }

  function removeSelected() {
    if (selected < 0) return say("No box selected.", "warn");
    remember();
    boxes.splice(selected, 1);
    selected = Math.min(selected, boxes.length - 1);
    render();
  }

  function addClass() {
    const input = document.getElementById("new-class");
    if (!input) return;
    const name = input.value.trim();
    if (!name) return;
    if (!classes.includes(name)) classes.push(name);
    input.value = "";
    if (selected >= 0) setClass(selected, name);
    else { lastClass = name; render(); }
  }

  function setDrawMode(on) {
    drawMode = on;
    drag = null;
    document.getElementById("stage").classList.toggle("drawing-mode", on);
    drawButton.classList.toggle("active", on);
    say(on ? `Drag on the image to draw a ${lastClass || "new"} box (Esc to stop).` : "");
  }

  function dragBox() {
    const a = drag.start, b = drag.current;
    return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
  }

  svg.addEventListener("mousedown", (event) => {
    if (!drawMode || event.button !== 0) return;
    event.preventDefault();
    drag = { start: toImage(event), current: null };
  });
  // Moving and resizing: `edit` remembers the box as it was when the drag began.
  let edit = null;

  function beginEdit(event, index, mode) {
    remember();
    edit = { index, mode, start: toImage(event), box: { ...boxes[index] }, moved: false };
  }

  function applyEdit(point) {
    const b = boxes[edit.index];
    const o = edit.box;
    const dx = point.x - edit.start.x;
    const dy = point.y - edit.start.y;
    if (edit.mode === "move") {
      const w = o.x_max - o.x_min, h = o.y_max - o.y_min;
      b.x_min = Math.min(Math.max(o.x_min + dx, 0), W - w);
      b.y_min = Math.min(Math.max(o.y_min + dy, 0), H - h);
      b.x_max = b.x_min + w;
      b.y_max = b.y_min + h;
    } else {
      const x = edit.mode[1] === "w" ? "x_min" : "x_max";
      const y = edit.mode[0] === "n" ? "y_min" : "y_max";
      b[x] = Math.min(Math.max(o[x] + dx, 0), W);
      b[y] = Math.min(Math.max(o[y] + dy, 0), H);
    }
    edit.moved = edit.moved || Math.abs(dx) + Math.abs(dy) > 0;
  }

  function endEdit() {
    const b = boxes[edit.index];
    [b.x_min, b.x_max] = [Math.min(b.x_min, b.x_max), Math.max(b.x_min, b.x_max)];
    [b.y_min, b.y_max] = [Math.min(b.y_min, b.y_max), Math.max(b.y_min, b.y_max)];
    if (b.x_max - b.x_min < 2 || b.y_max - b.y_min < 2) Object.assign(b, edit.box); // too small: undo
    else if (edit.moved && b.state === "pending") b.state = "accepted"; // adjusting a box is a decision
    if (!edit.moved) undoStack.pop(); // a click, not an edit: nothing to undo
    edit = null;
  }

  window.addEventListener("mousemove", (event) => {
    if (edit) {
      applyEdit(toImage(event));
      return render();
    }
    if (!drag) return;
    drag.current = toImage(event);
    render();
  });
  window.addEventListener("mouseup", () => {
    if (edit) {
      endEdit();
      return render();
    }
    if (!drag) return;
    if (drag.current) {
      const [x0, y0, x1, y1] = dragBox();
      if (x1 - x0 >= 2 && y1 - y0 >= 2) {
        if (!lastClass) {
          drag = null;
          render();
          return say("Add a class first (type a name under the box list).", "warn");
        }
        remember();
        boxes.push({ class: lastClass, x_min: x0, y_min: y0, x_max: x1, y_max: y1, confidence: null, source: "drawn", state: "accepted" });
        selected = boxes.length - 1;
      }
    }
    drag = null;
    setDrawMode(false);
    render();
  });

  // ------------------------------------------------------------------ saving
  async function save(status) {
    if (saving) return;
    saving = true;
    const kept = status === "rejected" ? [] : boxes.filter((b) => b.state === "accepted");
    say("Saving…");
    try {
      const response = await fetch(state.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": state.csrf },
        body: JSON.stringify({
          status,
          boxes: kept.map((b) => ({ class: b.class, x_min: b.x_min, y_min: b.y_min, x_max: b.x_max, y_max: b.y_max })),
        }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const message = body.error ? body.error.message : `HTTP ${response.status}`;
        saving = false;
        return say(`Not saved: ${message}`, "error");
      }
      say(`Saved ${body.boxes} box(es) as ${body.status}.`, "ok");
      document.getElementById("review-status").textContent = body.status;
      window.location.assign(body.next_url);
    } catch (error) {
      saving = false;
      say(`Not saved: ${error}`, "error");
    }
  }

  function acceptAllAndNext() {
    for (const b of boxes) if (b.state === "pending") b.state = "accepted";
    render();
    save("reviewed");
  }

  // ------------------------------------------------------------------ keyboard
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    if (typing) {
      if (event.key === "Enter" && target.id === "new-class") { event.preventDefault(); addClass(); }
      if (event.key === "Escape") target.blur();
      return;
    }
    if (target instanceof HTMLSelectElement && !["Escape", "Tab"].includes(event.key)) {
      if (event.key === "Enter") target.blur();
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "z") {
      event.preventDefault();
      return undo();
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    let handled = true;
    if (key === "Tab" || key === "j" || key === "ArrowDown") select(selected + (event.shiftKey && key === "Tab" ? -1 : 1));
    else if (key === "k" || key === "ArrowUp") select(selected - 1);
    else if (key === "a") decide("accepted");
    else if (key === "r") decide("rejected");
    else if (key === "X" && event.shiftKey) save("rejected");
    else if (key === "x" || key === "Delete" || key === "Backspace") removeSelected();
    else if (/^[1-9]$/.test(key)) {
      const name = classes[Number(key) - 1];
      if (!name) say(`There is no class ${key}.`, "warn");
      else if (drawMode || selected < 0) { lastClass = name; say(`New boxes: ${name}`); }
      else setClass(selected, name);
    } else if (key === "c") {
      const chooser = list.querySelector(`li[data-index="${selected}"] select`);
      if (chooser) chooser.focus();
    } else if (key === "n" || key === "d") setDrawMode(!drawMode);
    else if (key === "Escape") setDrawMode(false);
    else if (key === "Enter") acceptAllAndNext();
    else if (key === "s") save("reviewed");
    else if (key === "ArrowRight" && state.nextUrl) window.location.assign(state.nextUrl);
    else if (key === "ArrowLeft" && state.prevUrl) window.location.assign(state.prevUrl);
    else if (key === "z" || key === "u") undo();
    else if (key === "?") { const help = document.getElementById("help"); help.open = !help.open; }
    else handled = false;
    if (handled) event.preventDefault();
  });

  drawButton.addEventListener("click", () => setDrawMode(!drawMode));
  document.getElementById("accept-all").addEventListener("click", acceptAllAndNext);
  document.getElementById("save").addEventListener("click", () => save("reviewed"));
  document.getElementById("reject-image").addEventListener("click", () => save("rejected"));
  const addButton = document.getElementById("add-class");
  if (addButton) addButton.addEventListener("click", addClass); // absent when the class list is fixed
  window.addEventListener("resize", render);
  document.getElementById("photo").addEventListener("load", render);
  render();
  window.framescoutReview = { boxes: () => boxes.map((b) => ({ ...b })) }; // for tests and debugging
})();
