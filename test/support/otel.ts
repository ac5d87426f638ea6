import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach } from 'vitest';

/** One exported data point, with the metric it belongs to. */
export interface Point {
  metric: string;
  unit: string;
  kind: MetricData['dataPointType'];
  attributes: Attributes;
  value: number | Histogram;
}

/**
 * The real OpenTelemetry SDK, as an application sets it up: a MeterProvider
 * with a periodic reader that exports to the SDK's in-memory exporter. The
 * interval is an hour, so nothing exports by itself; `collect()` forces one
 * export and returns its points. Providers are shut down after each test.
 */
export function otelHarness(): () => {
  provider: MeterProvider;
  meter: ReturnType<MeterProvider['getMeter']>;
  collect(): Promise<Point[]>;
} {
  const providers: MeterProvider[] = [];
  afterEach(async () => {
    for (const provider of providers.splice(0)) await provider.shutdown();
  });
  return () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    providers.push(provider);
    return {
      provider,
      meter: provider.getMeter('xstate-sync-worker-test'),
      async collect() {
        await reader.forceFlush();
        const exported = exporter.getMetrics();
        exporter.reset();
        return pointsOf(exported.at(-1)?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []);
      },
    };
  };
}

function pointsOf(metrics: readonly MetricData[]): Point[] {
  return metrics.flatMap((metric) =>
    (metric.dataPoints as DataPoint<number | Histogram>[]).map((point) => ({
      metric: metric.descriptor.name,
      unit: metric.descriptor.unit,
      kind: metric.dataPointType,
      attributes: point.attributes,
      value: point.value,
    })),
  );
}

/** The points of `metric` whose attributes include every one of `attributes`. */
export function pointsWhere(points: readonly Point[], metric: string, attributes: Attributes = {}) {
  return points.filter(
    (point) =>
      point.metric === metric &&
      Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
  );
}

/** The value of the one point of `metric` with `attributes`; throws unless exactly one matches. */
export function pointValue(points: readonly Point[], metric: string, attributes: Attributes = {}) {
  const found = pointsWhere(points, metric, attributes);
  if (found.length !== 1) {
    throw new Error(
      `${found.length} points of ${metric} match ${JSON.stringify(attributes)}: ${JSON.stringify(found.map((p) => p.attributes))}`,
    );
  }
  return (found[0] as Point).value;
}

/** The count of the one histogram point of `metric` with `attributes`. */
export function countOf(points: readonly Point[], metric: string, attributes: Attributes = {}) {
  return (pointValue(points, metric, attributes) as Histogram).count;
}
