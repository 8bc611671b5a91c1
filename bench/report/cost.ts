// What a million Customer.io events cost on Google Cloud, from the operation counts and sizes the benchmarks measure
// and Google's list prices (USD, beyond the free tiers, which are ignored). Prices were read on PRICES_READ_ON from
// the stored copies of the pages named in `source`; `confirmed: false` marks a price taken from a secondary source,
// to be treated as an assumption. Quantities that no benchmark can measure are in ASSUMPTIONS, each with its reason.

export interface Price {
  /** The price as the list states it. */
  text: string;
  /** USD per one `unit`. */
  usd: number;
  unit: string;
  source: string;
  confirmed: boolean;
}

export const PRICES_READ_ON = '2026-11-26';

const TIB = 2 ** 40;
const GIB = 2 ** 30;
const MIB = 2 ** 20;

const FIRESTORE =
  'https://firebase.google.com/docs/firestore/pricing (location table, regional US: Oregon row)';
const RUN =
  'https://cloud.google.com/run/pricing (Tier 1, request-based billing; Cloud Run functions are billed as Cloud Run: https://cloud.google.com/functions/pricing-1stgen)';

export const PRICES = {
  firestoreRead: {
    text: '$0.03 per 100,000 document reads',
    usd: 0.03 / 100_000,
    unit: 'read',
    source: FIRESTORE,
    confirmed: true,
  },
  firestoreWrite: {
    text: '$0.09 per 100,000 document writes',
    usd: 0.09 / 100_000,
    unit: 'write',
    source: FIRESTORE,
    confirmed: true,
  },
  firestoreDelete: {
    text: '$0.01 per 100,000 document deletes',
    usd: 0.01 / 100_000,
    unit: 'delete',
    source: `${FIRESTORE}; TTL deletes are billed as deletes: https://cloud.google.com/firestore/docs/ttl`,
    confirmed: true,
  },
  firestoreStorage: {
    text: '$0.15 per GiB-month stored',
    usd: 0.15,
    unit: 'GiB-month',
    source: FIRESTORE,
    confirmed: true,
  },
  pubsubThroughput: {
    text: '$40 per TiB of publish and of delivery; at least 1000 bytes per publish, push or pull request',
    usd: 40 / TIB,
    unit: 'byte',
    source: 'https://cloud.google.com/pubsub/pricing',
    confirmed: true,
  },
  pubsubStorage: {
    text: '$0.27 per GiB-month of messages a topic retains',
    usd: 0.27,
    unit: 'GiB-month',
    source: 'https://cloud.google.com/pubsub/pricing (read in a copy of the page quoted by third parties)',
    confirmed: false,
  },
  bigqueryStreaming: {
    text: '$0.01 per 200 MB streamed with insertAll, each row counted as at least 1 KB',
    usd: 0.01 / (200 * MIB),
    unit: 'byte',
    source: 'https://cloud.google.com/bigquery/pricing',
    confirmed: true,
  },
  bigqueryStorage: {
    text: '$0.02 per GiB-month (active storage)',
    usd: 0.02,
    unit: 'GiB-month',
    source: 'https://cloud.google.com/bigquery/pricing',
    confirmed: true,
  },
  runCpu: {
    text: '$0.000024 per vCPU-second',
    usd: 0.000024,
    unit: 'vCPU-second',
    source: RUN,
    confirmed: true,
  },
  runMemory: {
    text: '$0.0000025 per GiB-second',
    usd: 0.0000025,
    unit: 'GiB-second',
    source: RUN,
    confirmed: true,
  },
  runRequests: {
    text: '$0.40 per million requests',
    usd: 0.4 / 1_000_000,
    unit: 'request',
    source: RUN,
    confirmed: true,
  },
  runIdleCpu: {
    text: '$0.0000025 per vCPU-second of an idle minimum instance',
    usd: 0.0000025,
    unit: 'vCPU-second',
    source: 'third-party quotes of https://cloud.google.com/run/pricing (not found on the stored page)',
    confirmed: false,
  },
  runIdleMemory: {
    text: '$0.0000025 per GiB-second of an idle minimum instance',
    usd: 0.0000025,
    unit: 'GiB-second',
    source: 'third-party quotes of https://cloud.google.com/run/pricing (not found on the stored page)',
    confirmed: false,
  },
  loggingIngestion: {
    text: '$0.50 per GiB ingested (first 50 GiB per project per month free; includes 30 days of storage)',
    usd: 0.5 / GIB,
    unit: 'byte',
    source: 'https://cloud.google.com/stackdriver/pricing',
    confirmed: true,
  },
} satisfies Record<string, Price>;

/** Not measurable here; each is a judgement, stated in the report. */
export const ASSUMPTIONS = {
  /** Stored size of one ledger document with its index entries (Firestore bills metadata and indexes too). */
  ledgerDocBytes: 1024,
  /** DEDUPE_TTL_DAYS (30) plus up to a day before the TTL policy deletes the document. */
  ledgerDays: 31,
  /** Terraform's events_retention default (7 days of messages on the topic). */
  topicRetentionDays: 7,
  /** Pub/Sub bills at least this much per request; each publish is assumed to carry one message (no batching). */
  pubsubMinRequestBytes: 1000,
  /** Under steady load Cloud Run keeps instances about this busy: billed instance time = CPU time / this. */
  steadyCpuUtilisation: 0.6,
  /** Terraform defaults: 1 vCPU and 512 MiB for each function. */
  vcpus: 1,
  memoryGiB: 0.5,
  /** Cloud Run rounds billed time up to 100 ms; sparse traffic pays it per request. */
  billingGranularityMs: 100,
  /** A stdout line becomes a LogEntry with resource, labels, timestamps and ids around the payload. */
  logEntryOverheadBytes: 400,
  /** Cloud Run writes one request log entry per HTTP request (httpRequest, resource, labels, trace). */
  requestLogBytes: 1024,
  /**
   * Whether those request log entries are ingested: 0 with Terraform's default (keep_request_logs = false, an
   * exclusion drops them), 1 with keep_request_logs = true.
   */
  requestLogsKept: 0,
  /** Terraform's webhook_min_instances default. */
  webhookMinInstances: 1,
} as const;

export type Assumptions = { -readonly [K in keyof typeof ASSUMPTIONS]: number };

export type FunctionName = 'webhook' | 'processor';

/** Per event, as the benchmarks measured (or, for sizes, computed with the production code). */
export interface MeasuredPerEvent {
  firestoreReads: number;
  firestoreWrites: number;
  pubsubMessageBytes: number;
  rowBytes: number;
  /** Mean billed row size: each row at least 1 KB. */
  rowBillableBytes: number;
  invocations: Record<FunctionName, number>;
  /** CPU time of each function's process per event under load. */
  cpuMs: Record<FunctionName, number>;
  /** Typical (p50) duration of one invocation. */
  latencyMs: Record<FunctionName, number>;
  /** What the functions write to stdout per event, both together. */
  logBytes: number;
  logLines: number;
}

export interface CostLine {
  service: string;
  item: string;
  /** The quantity per event behind the figure, in words. */
  quantity: string;
  price: Price;
  /** USD per million events, under steady load and with sparse traffic (only compute differs). */
  steady: number;
  sparse: number;
}

const MILLION = 1_000_000;
const MONTH_DAYS = 30;

const fixed = (n: number, digits = 2) => n.toFixed(digits);

export function costPerMillionEvents(m: MeasuredPerEvent, a: Assumptions = { ...ASSUMPTIONS }): CostLine[] {
  const P = PRICES;
  const same = (
    service: string,
    item: string,
    quantity: string,
    price: Price,
    perEventUnits: number,
  ): CostLine => {
    const usd = perEventUnits * price.usd * MILLION;
    return { service, item, quantity, price, steady: usd, sparse: usd };
  };
  const pubsubBilled = Math.max(a.pubsubMinRequestBytes, m.pubsubMessageBytes);
  const lines: CostLine[] = [
    same(
      'Firestore',
      'ledger reads',
      `${fixed(m.firestoreReads)} reads (measured)`,
      P.firestoreRead,
      m.firestoreReads,
    ),
    same(
      'Firestore',
      'ledger writes',
      `${fixed(m.firestoreWrites)} writes (measured)`,
      P.firestoreWrite,
      m.firestoreWrites,
    ),
    same('Firestore', 'TTL delete of the ledger entry', '1 delete (design)', P.firestoreDelete, 1),
    same(
      'Firestore',
      'ledger storage',
      `${a.ledgerDocBytes} B for ${a.ledgerDays} days (assumed)`,
      P.firestoreStorage,
      (a.ledgerDocBytes / GIB) * (a.ledgerDays / MONTH_DAYS),
    ),
    same(
      'Pub/Sub',
      'publish',
      `${fixed(m.pubsubMessageBytes, 0)} B message (computed), billed ${pubsubBilled} B per request`,
      P.pubsubThroughput,
      pubsubBilled,
    ),
    same(
      'Pub/Sub',
      'push delivery',
      `${fixed(m.invocations.processor)} pushes (measured) × ${pubsubBilled} B`,
      P.pubsubThroughput,
      m.invocations.processor * pubsubBilled,
    ),
    same(
      'Pub/Sub',
      'topic retention',
      `${fixed(m.pubsubMessageBytes, 0)} B for ${a.topicRetentionDays} days`,
      P.pubsubStorage,
      (m.pubsubMessageBytes / GIB) * (a.topicRetentionDays / MONTH_DAYS),
    ),
    same(
      'BigQuery',
      'streaming insert',
      `${fixed(m.rowBytes, 0)} B row (computed), billed ${fixed(m.rowBillableBytes, 0)} B`,
      P.bigqueryStreaming,
      m.rowBillableBytes,
    ),
    same(
      'BigQuery',
      'storage, per month kept',
      `${fixed(m.rowBytes, 0)} B`,
      P.bigqueryStorage,
      m.rowBytes / GIB,
    ),
    same(
      'Cloud Run functions',
      'requests',
      `${fixed(m.invocations.webhook + m.invocations.processor)} invocations (measured)`,
      P.runRequests,
      m.invocations.webhook + m.invocations.processor,
    ),
  ];
  for (const fn of ['webhook', 'processor'] as const) {
    const steadySeconds = m.cpuMs[fn] / 1000 / a.steadyCpuUtilisation;
    const billedMs = Math.ceil(m.latencyMs[fn] / a.billingGranularityMs) * a.billingGranularityMs;
    const sparseSeconds = (m.invocations[fn] * billedMs) / 1000;
    for (const [item, price, units, quantity] of [
      [
        'CPU',
        P.runCpu,
        a.vcpus,
        `steady: ${fixed(m.cpuMs[fn])} CPU ms (measured) / ${a.steadyCpuUtilisation}; ` +
          `sparse: p50 ${fixed(m.latencyMs[fn], 0)} ms (measured) billed as ${billedMs} ms`,
      ],
      ['memory', P.runMemory, a.memoryGiB, `the same billed time × ${a.memoryGiB} GiB`],
    ] as const) {
      lines.push({
        service: 'Cloud Run functions',
        item: `${fn} ${item}`,
        quantity,
        price,
        steady: steadySeconds * units * price.usd * MILLION,
        sparse: sparseSeconds * units * price.usd * MILLION,
      });
    }
  }
  const requests = m.invocations.webhook + m.invocations.processor;
  const requestLogBytes = requests * a.requestLogBytes * a.requestLogsKept;
  const logBytes = m.logBytes + m.logLines * a.logEntryOverheadBytes + requestLogBytes;
  const requestLogs =
    a.requestLogsKept > 0
      ? `+ ${a.requestLogBytes} B request log per invocation (assumed; keep_request_logs = true)`
      : '(request logs excluded: keep_request_logs = false)';
  lines.push(
    same(
      'Cloud Logging',
      'ingestion',
      `${fixed(m.logBytes, 0)} B in ${fixed(m.logLines)} lines (measured) + ${a.logEntryOverheadBytes} B per entry ` +
        requestLogs,
      P.loggingIngestion,
      logBytes,
    ),
  );
  return lines;
}

/** The warm webhook instance(s) Terraform keeps, per 30-day month, whatever the traffic (idle rate). */
export function minInstanceMonthlyUsd(a: Assumptions = { ...ASSUMPTIONS }): number {
  const seconds = MONTH_DAYS * 86_400 * a.webhookMinInstances;
  return seconds * (a.vcpus * PRICES.runIdleCpu.usd + a.memoryGiB * PRICES.runIdleMemory.usd);
}

export const total = (lines: CostLine[], key: 'steady' | 'sparse'): number =>
  lines.reduce((sum, line) => sum + line[key], 0);
