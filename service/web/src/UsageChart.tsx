// Usage over time with uPlot: one line per group of a meter. The figures are also listed in a table below the
// chart (screen readers, and the exact decimals: the chart's y positions are floats, the table is the API's text).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UsageSeries {
  label: string;
  /** [instant (ISO), decimal string] in time order. */
  points: [string, string][];
}

const palette = ['#1f4fd1', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490'];

export function UsageChart({ title, series, unit }: { title: string; series: UsageSeries[]; unit: string }) {
  const holder = useRef<HTMLDivElement>(null);
  const instants = [...new Set(series.flatMap((s) => s.points.map(([at]) => at)))].sort();
  useEffect(() => {
    const element = holder.current;
    if (!element || instants.length === 0) return;
    const x = instants.map((at) => Date.parse(at) / 1000);
    const ys = series.map((s) => {
      const byInstant = new Map(s.points);
      return instants.map((at) => (byInstant.has(at) ? Number(byInstant.get(at)) : null));
    });
    const plot = new uPlot(
      {
        width: Math.max(320, element.clientWidth || 640),
        height: 220,
        series: [
          {},
          ...series.map((s, index) => ({
            label: s.label,
            stroke: palette[index % palette.length],
            width: 2,
            points: { show: true },
          })),
        ],
        axes: [{}, { label: unit, size: 70 }],
        scales: { x: { time: true } },
      },
      [x, ...ys] as uPlot.AlignedData,
      element,
    );
    return () => plot.destroy();
  }, [instants.join(), series, unit]);
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={holder} role="img" aria-label={`${title} chart`} />
      <details>
        <summary>Figures</summary>
        <table aria-label={`${title} figures`}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              {series.map((s) => (
                <th key={s.label} scope="col" className="number">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {instants.map((at) => (
              <tr key={at}>
                <td>{at}</td>
                {series.map((s) => (
                  <td key={s.label} className="number" data-series={s.label}>
                    {new Map(s.points).get(at) ?? ''}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
