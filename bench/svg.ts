// A line chart as a standalone SVG: a few series against a log-scaled x axis (fleet size). Small
// on purpose: the bench draws three charts of four points, nothing more.

/** One line: a name for the legend and its points. */
interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

/** What to draw. */
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 160, bottom: 50, left: 70 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for about five ticks between 0 and `max`. */
function step(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalised = raw / magnitude;
  return (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10) * magnitude;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

const format = (value: number): string => (value >= 1000 ? `${Number((value / 1000).toPrecision(3))}k` : String(Number(value.toPrecision(3))));

/** The chart as SVG text: x on a log scale (fleet sizes), y linear from 0. */
export function lineChart(chart: Chart): string {
  const points = chart.series.flatMap((series) => series.points).filter((point) => Number.isFinite(point.y));
  const xs = points.map((point) => point.x);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yStep = step(Math.max(...points.map((point) => point.y), 1e-9));
  const yMax = Math.ceil(Math.max(...points.map((point) => point.y)) / yStep) * yStep || yStep;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value: number): number => round1(MARGIN.left + (xMax === xMin ? 0 : ((Math.log10(value) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotWidth));
  const y = (value: number): number => round1(MARGIN.top + plotHeight - (value / yMax) * plotHeight);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(chart.title)}</text>`);
  for (let tick = 0; tick <= yMax + yStep / 2; tick += yStep) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${format(tick)}</text>`);
  }
  for (const value of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<line x1="${x(value)}" x2="${x(value)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x(value)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${format(value)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  chart.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] ?? '#000';
    const drawn = series.points.filter((point) => Number.isFinite(point.y));
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${drawn.map((point) => `${x(point.x)},${y(point.y)}`).join(' ')}"/>`);
    for (const point of drawn) parts.push(`<circle cx="${x(point.x)}" cy="${y(point.y)}" r="3.5" fill="${colour}"><title>${escape(`${series.name}: ${format(point.y)} at ${point.x}`)}</title></circle>`);
    const legendY = MARGIN.top + 10 + index * 20;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 14}" x2="${WIDTH - MARGIN.right + 34}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 40}" y="${legendY + 4}">${escape(series.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
