// Prometheus text exposition for a few counters and histograms; no dependency needed for this much.
export interface Metrics {
  increment(name: string, labels?: Record<string, string>, by?: number): void;
  observe(name: string, value: number, labels?: Record<string, string>): void;
  render(): string;
}

interface Definition {
  help: string;
  type: 'counter' | 'histogram';
  buckets?: number[];
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const metricDefinitions: Record<string, Definition> = {
  tariff_events_total: { help: 'Usage events by ingestion outcome (accepted, duplicate, rejected).', type: 'counter' },
  tariff_ingest_shared_failures_total: {
    help: 'Failed shared ingestion transactions whose requests were run again apart (by halves).',
    type: 'counter',
  },
  http_request_duration_seconds: {
    help: 'HTTP request latency by method, route and status.',
    type: 'histogram',
    buckets: latencyBuckets,
  },
};

export function createMetrics(definitions: Record<string, Definition> = metricDefinitions): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const histograms = new Map<string, Map<string, { counts: number[]; sum: number; count: number }>>();
  // Built on every observation (each request's): a loop, and escapes only where a value needs them.
  const labelText = (labels: Record<string, string> = {}) => {
    let text = '';
    for (const name in labels) {
      const value = labels[name];
      const escaped = /[\\"\n]/.test(value)
        ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
        : value;
      text += `${text === '' ? '{' : ','}${name}="${escaped}"`;
    }
    return text === '' ? '' : text + '}';
  };
  return {
    increment(name, labels, by = 1) {
      if (definitions[name]?.type !== 'counter') throw new Error(`unknown counter ${name}`);
      const series = counters.get(name) ?? new Map();
      const key = labelText(labels);
      series.set(key, (series.get(key) ?? 0) + by);
      counters.set(name, series);
    },
    observe(name, value, labels) {
      const definition = definitions[name];
      if (definition?.type !== 'histogram') throw new Error(`unknown histogram ${name}`);
      const series = histograms.get(name) ?? new Map();
      const key = labelText(labels);
      const entry = series.get(key) ?? { counts: definition.buckets!.map(() => 0), sum: 0, count: 0 };
      const buckets = definition.buckets!;
      for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) entry.counts[i] += 1;
      entry.sum += value;
      entry.count += 1;
      series.set(key, entry);
      histograms.set(name, series);
    },
    render() {
      const lines: string[] = [];
      for (const [name, definition] of Object.entries(definitions)) {
        lines.push(`# HELP ${name} ${definition.help}`, `# TYPE ${name} ${definition.type}`);
        if (definition.type === 'counter') {
          for (const [labels, value] of counters.get(name) ?? []) lines.push(`${name}${labels} ${value}`);
        } else {
          for (const [labels, entry] of histograms.get(name) ?? []) {
            const inner = labels ? labels.slice(1, -1) + ',' : '';
            definition.buckets!.forEach((bound, i) =>
              lines.push(`${name}_bucket{${inner}le="${bound}"} ${entry.counts[i]}`),
            );
            lines.push(
              `${name}_bucket{${inner}le="+Inf"} ${entry.count}`,
              `${name}_sum${labels} ${entry.sum}`,
              `${name}_count${labels} ${entry.count}`,
            );
          }
        }
      }
      return lines.join('\n') + '\n';
    },
  };
}
