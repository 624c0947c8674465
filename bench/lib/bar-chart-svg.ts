/** One bar: a label, a value, and whether it is one of ours (drawn in the accent colour). */
export interface Bar {
  label: string;
  value: number;
  ours: boolean;
}

export interface BarChart {
  title: string;
  unit: string;
  bars: Bar[];
  /** log10 axis, for values spanning several orders of magnitude */
  log?: boolean;
}

const WIDTH = 760;
const LABEL_W = 230;
const VALUE_W = 110;
const BAR_H = 22;
const GAP = 8;
const TOP = 44;

function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A horizontal bar chart as a standalone SVG (no fonts or scripts to load). */
export function barChartSvg(chart: BarChart): string {
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const max = Math.max(1, ...chart.bars.map((b) => b.value));
  const scale = (v: number): number => {
    if (v <= 0) return 0;
    if (!chart.log) return (v / max) * plotW;
    const top = Math.log10(max);
    return Math.max(2, (Math.log10(Math.max(1, v)) / top) * plotW);
  };
  const height = TOP + chart.bars.length * (BAR_H + GAP) + 24;
  const rows = chart.bars.map((b, i) => {
    const y = TOP + i * (BAR_H + GAP);
    const w = scale(b.value);
    const fill = b.ours ? '#d9480f' : '#868e96';
    return (
      `<text x="${LABEL_W - 8}" y="${y + BAR_H * 0.7}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${fill}"/>` +
      `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H * 0.7}">${Math.round(b.value).toLocaleString('en-US')}</text>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
    `<text x="${WIDTH - 12}" y="24" text-anchor="end" fill="#495057">${esc(chart.unit)}${chart.log ? ' (log scale)' : ''}</text>`,
    ...rows,
    `</svg>`,
    '',
  ].join('\n');
}
