// The documented quotas and limits the capacity model holds a traffic shape against, each with where it was read
// and whether Google's (or Customer.io's) own page said it (`confirmed: false`: read in a third-party copy or an
// older version of the page, so treat it as an assumption). Read on LIMITS_READ_ON. Quantities no page states and
// no benchmark here can measure are in MODEL_ASSUMPTIONS, each with its reason.

export interface Limit {
  /** The limit as the source states it. */
  text: string;
  value: number;
  unit: string;
  source: string;
  confirmed: boolean;
}

export const LIMITS_READ_ON = '2026-12-04';

export const LIMITS = {
  runUtilisationTarget: {
    text: 'Cloud Run scales instances to keep CPU and concurrency utilisation at 60% by default',
    value: 0.6,
    unit: 'share',
    source: 'https://cloud.google.com/run/docs/configuring/scaling-controls',
    confirmed: true,
  },
  runQueueSeconds: {
    text: 'at max instances, requests queue for up to 60 s, then fail with 429',
    value: 60,
    unit: 's',
    source: 'https://cloud.google.com/run/docs/about-instance-autoscaling (Exceeding maximum instances)',
    confirmed: true,
  },
  runRegionalCpuQuota: {
    text:
      'max instances of a service ≤ regional CPU quota / its vCPUs, shared by every Cloud Run service in the region ' +
      '(example baseline 1000 vCPU); new projects without billing history may get far less (deploy error ' +
      '"maxScale may not exceed 10 … Your project may gain access to further scaling by adding billing information")',
    value: 1000,
    unit: 'vCPU per region',
    source:
      'https://cloud.google.com/run/docs/configuring/max-instances-limits; new-project error quoted in ' +
      'https://github.com/firebase/firebase-tools/pull/5867',
    confirmed: true,
  },
  runMaxConcurrency: {
    text: 'at most 1000 concurrent requests per instance',
    value: 1000,
    unit: 'requests',
    source: 'https://cloud.google.com/run/docs/about-concurrency',
    confirmed: true,
  },
  pubsubPushRate: {
    text: 'Pub/Sub adjusts the rate of push requests to the rate of success responses (no fixed number documented)',
    value: Infinity,
    unit: 'pushes/s',
    source: 'https://cloud.google.com/pubsub/docs/push (push subscription workflow)',
    confirmed: true,
  },
  pubsubPublishThroughput: {
    text: 'publisher throughput 3,000,000 kB per minute (50 MB/s) per region in small regions, 200 MB/s in large ones',
    value: 50e6,
    unit: 'bytes/s',
    source: 'https://cloud.google.com/pubsub/quotas (read in an older copy of the page)',
    confirmed: false,
  },
  firestoreRampStart: {
    text:
      '500/50/5 rule: start with at most 500 operations per second to a new collection, then increase traffic by ' +
      '50% every 5 minutes; faster growth meets latency and contention errors',
    value: 500,
    unit: 'ops/s',
    source:
      'https://cloud.google.com/firestore/docs/best-practices#ramping_up_traffic (named the "500-50-5 rule" on ' +
      'https://cloud.google.com/firestore/docs/resolve-latency; the numbers read in third-party quotes of the page)',
    confirmed: false,
  },
  firestoreSequentialIndex: {
    text:
      'a collection whose documents hold a monotonically increasing indexed field (a timestamp, a time-ordered id) ' +
      'takes at most 500 writes per second; exempting the field from indexing removes the limit',
    value: 500,
    unit: 'writes/s',
    source:
      'https://firebase.google.com/docs/firestore/solutions/shard-timestamp and ' +
      'https://cloud.google.com/firestore/docs/best-practices (Index exemptions)',
    confirmed: true,
  },
  trackApiRate: {
    text: 'Track API fair use: about 100 requests per second per workspace (429 beyond)',
    value: 100,
    unit: 'requests/s',
    source: 'https://docs.customer.io/integrations/api/track/ (read in third-party copies of the page)',
    confirmed: false,
  },
  bigqueryStreamingRowsPerTable: {
    text: 'streaming inserts with insertId: 100,000 rows per second per table (and a per-project rows/s quota)',
    value: 100_000,
    unit: 'rows/s',
    source:
      'https://cloud.google.com/bigquery/quotas#streaming_inserts (quota names on the current troubleshooting page, ' +
      'https://cloud.google.com/bigquery/docs/troubleshoot-quotas; the figure from an older copy of the quota page)',
    confirmed: false,
  },
  customerioFailureWait: {
    text:
      'a 429 (or 4xx, 500, connection error) from the webhook makes Customer.io wait an hour before the next retry, ' +
      'holding back every later event',
    value: 3600,
    unit: 's',
    source:
      'https://docs.customer.io/api/webhooks/ (reporting webhooks: retries; not re-read for this table)',
    confirmed: false,
  },
} satisfies Record<string, Limit>;

/** Not documented and not measurable here; each is a judgement, stated in the report. */
export const MODEL_ASSUMPTIONS = {
  /** One request's wall time in Google Cloud (the local figures run on loopback): publish round trip. */
  webhookLatencyMs: 30,
  /** Firestore transaction (about three round trips), a micro-batched insertAll and the done write. */
  processorLatencyMs: 250,
  /** A Node.js process runs its JavaScript, gRPC included, on one thread: CPUs beyond the first add little. */
  usableVcpusPerInstance: 1,
  /** Backlog whose oldest message is older than this means the deployment did not keep up. */
  keepsUpSeconds: 60,
  /** Pub/Sub's retry backoff doubles from the minimum to the maximum (the factor is not documented). */
  retryBackoffFactor: 2,
  /** The model stops this long after the shape ends, drained or not (past the topic's retention anyway). */
  horizonSeconds: 8 * 86_400,
} as const;
