// A warehouse (the local one, in memory) and Customer.io's App API (the local stand-in) side by side, for the
// reconciliation and backfill tests: Customer.io records what it sends; `land` puts in the warehouse what the
// webhooks delivered, through the processor's own parsing and row mapping.
import { BigQuery } from '@google-cloud/bigquery';
import { AppApiClient, type AppApiClientOptions } from '../../shared/customerio/app-api/client';
import { parseEvent } from '../../shared/customerio/event';
import { ReconcileWarehouse } from '../../shared/reconcile/warehouse';
import { eventInsertId, toEventRow } from '../../shared/warehouse/row';
import { DeliveryRecord } from '../../scripts/local/app-api/record';
import {
  startAppApiServer,
  type AppApiServer,
  type AppApiServerOptions,
} from '../../scripts/local/app-api/server';
import { startWarehouseServer, type WarehouseServer } from '../../scripts/local/warehouse/server';
import { ensureWarehouseTables } from '../../scripts/local/warehouse/setup';

export const APP_API_KEY = 'local-test-app-api-key';
let seq = 0;

export interface Completeness {
  warehouseServer: WarehouseServer;
  bigquery: BigQuery;
  appApi: AppApiServer;
  warehouse: ReconcileWarehouse;
  client(options?: Partial<AppApiClientOptions>): AppApiClient;
  /** Customer.io records these events (its App API will list their deliveries). */
  record(bodies: readonly object[]): void;
  /** The webhooks delivered these events: their rows land in the warehouse (as events of `workspace`). */
  land(bodies: readonly object[], workspace?: string): Promise<void>;
  sql(query: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function openCompleteness(options: Partial<AppApiServerOptions> = {}): Promise<Completeness> {
  const warehouseServer = await startWarehouseServer();
  const projectId = `completeness-${process.pid}-${++seq}`;
  const bigquery = new BigQuery({ projectId, apiEndpoint: warehouseServer.url });
  await ensureWarehouseTables(bigquery, 'customerio', { events: 'events', rejects: 'rejected_events' });
  const appApi = await startAppApiServer({
    key: APP_API_KEY,
    record: new DeliveryRecord(),
    requestsPerSecond: 0,
    ...options,
  });
  const warehouse = new ReconcileWarehouse({
    bigquery,
    projectId,
    datasetId: 'customerio',
    eventsTable: 'events',
  });
  return {
    warehouseServer,
    bigquery,
    appApi,
    warehouse,
    client: (o = {}) =>
      new AppApiClient({
        workspace: { label: 'default', key: APP_API_KEY, region: 'us' },
        baseUrl: appApi.url,
        backoffMs: 5,
        maxBackoffMs: 20,
        requestsPerSecond: 100,
        ...o,
      }),
    record: (bodies) => {
      appApi.record.recordBodies(bodies);
    },
    land: async (bodies, workspace = 'default') => {
      const rows = bodies.map((body) => {
        const parsed = parseEvent(Buffer.from(JSON.stringify(body)));
        if (!parsed.ok) throw new Error(parsed.detail);
        const receivedAt = new Date(((parsed.event.timestamp ?? 0) + 2) * 1000).toISOString();
        return {
          insertId: eventInsertId({ workspace, eventId: parsed.event.eventId }),
          json: toEventRow(parsed.event, { workspace, receivedAt }, []),
        };
      });
      for (let i = 0; i < rows.length; i += 5000) {
        await bigquery
          .dataset('customerio')
          .table('events')
          .insert(rows.slice(i, i + 5000), { raw: true });
      }
    },
    sql: async (query) => {
      const [rows] = await bigquery.query(query);
      return rows as Record<string, unknown>[];
    },
    close: async () => {
      await appApi.close();
      await warehouseServer.close();
    },
  };
}
