/** One metric family in the Prometheus text format: HELP and TYPE once, then a sample per label set. */
export function gaugeFamily(name: string, help: string, samples: [labels: string, value: number][]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map(([labels, value]) => `${name}${labels} ${value}`)].join('\n');
}
