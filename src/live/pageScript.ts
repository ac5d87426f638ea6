/**
 * The live page's script, served as `/live.js` from the page's own origin
 * (the Content-Security-Policy allows no inline script and no other
 * origin). Plain ES2020 for the browser, kept as text so that it reaches the
 * page byte for byte whatever compiles the library. It listens to
 * `/events`, highlights each actor's active states in its diagram, draws the
 * four charts and keeps the list of state changes, in order, marking any
 * gap the server announced. It builds every element with `textContent`:
 * nothing it receives is parsed as HTML.
 */
export const PAGE_SCRIPT = `'use strict';
(() => {
  // As many rows as the server's default ring: the list is one unbroken stretch of the latest changes.
  const MAX_ROWS = 1000;
  const WINDOW_MS = 30000;
  const SVG = 'http://www.w3.org/2000/svg';

  // Each diagram's drawn states, by Graphviz title: a leaf's title is its state id, a compound's cluster_<id>.
  const diagrams = new Map();
  for (const figure of document.querySelectorAll('figure.diagram')) {
    const marks = new Map();
    for (const group of figure.querySelectorAll('g.node, g.cluster')) {
      const title = group.querySelector(':scope > title');
      if (title) marks.set(title.textContent, group);
    }
    diagrams.set(figure.dataset.machine, { figure, marks, lit: [], label: figure.querySelector('figcaption code') });
  }

  /** A leaf id and the clusters of its ancestors below the root: breaker.half_open.probing → + cluster_breaker.half_open. */
  function titlesOf(id) {
    const parts = id.split('.');
    const titles = [id];
    for (let i = parts.length - 1; i > 1; i--) titles.push('cluster_' + parts.slice(0, i).join('.'));
    return titles;
  }

  function showActor(machine, ids, label) {
    const diagram = diagrams.get(machine);
    if (!diagram) return;
    for (const group of diagram.lit) group.classList.remove('current');
    diagram.lit = [];
    for (const id of ids) {
      for (const title of titlesOf(id)) {
        const group = diagram.marks.get(title);
        if (group && !group.classList.contains('current')) {
          group.classList.add('current');
          diagram.lit.push(group);
        }
      }
    }
    diagram.figure.dataset.state = label;
    if (diagram.label) diagram.label.textContent = label;
  }

  const list = document.getElementById('changes');
  let lastSeq = 0;

  // Machines whose rows the reader chose to hide (the rows stay in the list, in order).
  const hidden = new Set();
  for (const box of document.querySelectorAll('.filters input[data-machine]')) {
    box.addEventListener('change', () => {
      if (box.checked) hidden.delete(box.dataset.machine);
      else hidden.add(box.dataset.machine);
      for (const row of list.querySelectorAll('li[data-machine]')) row.hidden = hidden.has(row.dataset.machine);
    });
  }

  function clock(t) {
    const d = new Date(t);
    const pad = (n, w) => String(n).padStart(w, '0');
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function element(tag, text, className) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    made.textContent = text;
    return made;
  }

  function prepend(item) {
    list.prepend(item);
    while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  }

  function note(text) {
    prepend(element('li', text, 'gap'));
  }

  function addChange(change) {
    if (change.seq <= lastSeq) return; // already listed: a resumed stream overlaps what the page has
    if (lastSeq > 0 && change.seq > lastSeq + 1) {
      note((change.seq - lastSeq - 1) + ' state change(s) not shown: this page fell behind');
    }
    lastSeq = change.seq;
    const item = document.createElement('li');
    item.dataset.seq = String(change.seq);
    item.dataset.machine = change.machine;
    item.dataset.to = change.to;
    item.hidden = hidden.has(change.machine);
    item.append(
      element('span', '#' + change.seq, 'seq'),
      element('time', clock(change.t)),
      element('b', change.machine),
      change.from + ' → ' + change.to,
    );
    prepend(item);
    showActor(change.machine, change.ids, change.label);
  }

  // The charts: one line per number over the last WINDOW_MS.
  const charts = [];
  for (const figure of document.querySelectorAll('figure.chart')) {
    const svg = figure.querySelector('svg');
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', 'line');
    const peak = document.createElementNS(SVG, 'text');
    peak.setAttribute('class', 'peak');
    peak.setAttribute('x', '2');
    peak.setAttribute('y', '9');
    svg.append(line, peak);
    charts.push({ key: figure.dataset.metric, svg, line, peak, output: figure.querySelector('output'), points: [] });
  }

  function addMetric(metric) {
    for (const chart of charts) {
      chart.points.push([metric.t, metric[chart.key]]);
      while (chart.points.length > 0 && chart.points[0][0] < metric.t - WINDOW_MS) chart.points.shift();
    }
  }

  function drawCharts() {
    for (const chart of charts) {
      const box = chart.svg.viewBox.baseVal;
      const known = chart.points.filter((p) => typeof p[1] === 'number');
      const last = chart.points[chart.points.length - 1];
      chart.output.textContent = last === undefined || last[1] === null ? '–' : String(Math.round(last[1]));
      if (known.length === 0) {
        chart.line.setAttribute('points', '');
        continue;
      }
      const end = last[0];
      const peak = Math.max(1, ...known.map((p) => p[1]));
      chart.peak.textContent = 'max ' + Math.round(peak);
      const xy = known.map((p) => {
        const x = box.width - ((end - p[0]) / WINDOW_MS) * box.width;
        const y = box.height - 2 - (p[1] / peak) * (box.height - 12);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      chart.line.setAttribute('points', xy.join(' '));
    }
  }

  function onSnapshot(message) {
    if (message.reason === 'connect') {
      // A new stream (or a restarted server): its numbering starts afresh.
      list.replaceChildren();
      lastSeq = 0;
      for (const chart of charts) chart.points = [];
    }
    for (const actor of message.actors) showActor(actor.machine, actor.ids, actor.label);
    if (message.reason === 'connect' && message.changes.length > 0 && message.changes[0].seq > 1) {
      note((message.changes[0].seq - 1) + ' earlier state change(s) are no longer kept');
    }
    for (const change of message.changes) addChange(change);
    if (message.reason !== 'resume') for (const metric of message.metrics) addMetric(metric);
    drawCharts();
  }

  function onUpdate(message) {
    for (const change of message.changes) addChange(change);
    addMetric(message.metric);
    drawCharts();
  }

  const status = document.getElementById('connection');
  function setStatus(value, text) {
    status.dataset.status = value;
    status.textContent = text;
  }

  const events = new EventSource('/events');
  events.addEventListener('open', () => setStatus('live', 'live'));
  events.addEventListener('error', () => {
    setStatus(events.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting', events.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
  });
  events.addEventListener('snapshot', (event) => onSnapshot(JSON.parse(event.data)));
  events.addEventListener('update', (event) => onUpdate(JSON.parse(event.data)));
})();
`;
