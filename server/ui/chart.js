// A small live line chart in SVG for observed numeric values: the last points over time, drawn with DOM calls only.
const NS = 'http://www.w3.org/2000/svg';
const W = 360;
const H = 120;
const PAD = 28;
const KEEP = 120;

const label = (v) => (Number.isInteger(v) ? String(v) : String(+v.toPrecision(6)));

function svg(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A chart of one series: push(time, value) appends a point and redraws. */
export class LineChart {
  constructor(label) {
    this.points = [];
    this.root = document.createElement('div');
    this.root.className = 'chart';
    const title = document.createElement('div');
    title.textContent = label;
    this.svg = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    this.line = svg('polyline', { class: 'line', points: '' });
    this.minText = svg('text', { x: 2, y: H - PAD + 10 });
    this.maxText = svg('text', { x: 2, y: 12 });
    this.lastText = svg('text', { x: W - 90, y: 12 });
    this.svg.append(svg('line', { class: 'axis', x1: PAD, y1: H - PAD, x2: W - 4, y2: H - PAD }),
      svg('line', { class: 'axis', x1: PAD, y1: 4, x2: PAD, y2: H - PAD }), this.line, this.minText, this.maxText, this.lastText);
    this.root.append(title, this.svg);
  }

  push(time, value) {
    this.points.push([time, value]);
    if (this.points.length > KEEP) this.points.shift();
    this.draw();
  }

  draw() {
    const ys = this.points.map((p) => p[1]);
    let min = Math.min(...ys);
    let max = Math.max(...ys);
    if (min === max) { min -= 1; max += 1; }
    const t0 = this.points[0][0];
    const span = Math.max(1, this.points[this.points.length - 1][0] - t0);
    const x = (t) => PAD + ((t - t0) / span) * (W - PAD - 6);
    const y = (v) => 4 + (1 - (v - min) / (max - min)) * (H - PAD - 8);
    this.line.setAttribute('points', this.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
    this.minText.textContent = label(min);
    this.maxText.textContent = label(max);
    this.lastText.textContent = `now ${label(ys[ys.length - 1])}`;
    this.svg.dataset.points = String(this.points.length);
  }
}
