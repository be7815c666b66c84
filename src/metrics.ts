/** The metrics compile takes (Keras' names): accuracy, also spelled acc. */
export const METRIC_NAMES = ['accuracy', 'acc'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
