import { z } from 'zod';

/** The tracing settings both apps read (the standard OpenTelemetry names), spread into each app's env schema. */
export const observabilityEnv = {
  /** An OTLP/HTTP collector's base URL (spans go to `<it>/v1/traces`); unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** The service name spans carry; default `tinyb-api` or `tinyb-worker`. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};
