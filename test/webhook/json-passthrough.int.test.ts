// functions-framework answers 400 by itself when an `application/json` body does not parse; for Customer.io that is
// a one-hour stall of the whole stream. functions/json-passthrough.ts (installed by functions/index) lets such bodies
// through to cioWebhook. This pins both facts against the installed framework version.
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { loadWebhookConfig } from '../../shared/config';
import { createLogger } from '../../shared/log';
import { createPublisher, type Publisher } from '../../shared/webhook/publisher';
import { createWebhookHandler } from '../../shared/webhook/handler';
import { TestProject } from '../support/pubsub';

type Framework = typeof import('@google-cloud/functions-framework');
type Testing = typeof import('@google-cloud/functions-framework/testing');

const KEY = 'whsec-passthrough';

/** The framework as loaded in a fresh module registry, with or without functions/index (and so the pass-through). */
function loadFramework(withIndex: boolean): { framework: Framework; testing: Testing } {
  let loaded: { framework: Framework; testing: Testing } | undefined;
  jest.isolateModules(() => {
    if (withIndex) jest.requireActual('../../functions/index');
    loaded = {
      framework: jest.requireActual<Framework>('@google-cloud/functions-framework'),
      testing: jest.requireActual<Testing>('@google-cloud/functions-framework/testing'),
    };
  });
  return loaded!;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function postJson(url: string, body: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', KEY).update(`v0:${timestamp}:`).update(body).digest('hex');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-cio-timestamp': timestamp,
      'x-cio-signature': signature,
    },
    body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
}

it('without the pass-through, the installed framework answers 400 to invalid JSON before any handler runs', async () => {
  const { framework, testing } = loadFramework(false);
  let calls = 0;
  const probe: HttpFunction = (_req, res) => {
    calls++;
    res.send('reached');
  };
  framework.http('probeWithoutPassThrough', probe);
  const server = testing.getTestServer('probeWithoutPassThrough');
  const url = await listen(server);
  try {
    expect((await postJson(url, '{"event_id":')).status).toBe(400);
    expect((await postJson(url, '"a string"')).status).toBe(400);
    expect(calls).toBe(0);
  } finally {
    await close(server);
  }
});

describe('with functions/index loaded (as deployed), signed JSON that does not parse reaches cioWebhook', () => {
  let project: TestProject;
  let topicId: string;
  let publisher: Publisher;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    project = TestProject.create('passthrough-test');
    topicId = await project.createTopic('cio-events');
    publisher = createPublisher({ projectId: project.projectId, topic: topicId, apiEndpoint: project.host });
    const { framework, testing } = loadFramework(true);
    const config = loadWebhookConfig({
      GOOGLE_CLOUD_PROJECT: project.projectId,
      CIO_WEBHOOK_SIGNING_KEYS: KEY,
    });
    const logger = createLogger('error');
    framework.http('webhookBehindPassThrough', createWebhookHandler({ config, publisher, logger }));
    server = testing.getTestServer('webhookBehindPassThrough');
    url = await listen(server);
  });

  afterAll(async () => {
    if (server) await close(server);
    await publisher?.close();
    await project?.close();
  });

  it.each([
    ['truncated JSON', '{"event_id":"01CUT","object_type":"email","metr', 'invalid_json'],
    ['JSON with a trailing comma', '{"event_id":"01COMMA",}', 'invalid_json'],
    ['a JSON string (body-parser strict mode refuses non-objects)', '"x"', 'not_an_object'],
    ['a JSON number', '42', 'not_an_object'],
  ])('%s → 200, published with its exact bytes and parse_error', async (_, body, parseError) => {
    const sub = await project.subscribe(topicId);
    expect(await postJson(url, body)).toEqual({ status: 200, text: 'ok' });
    const messages = await sub.drain();
    expect(messages).toHaveLength(1);
    expect(messages[0].data.toString('utf8')).toBe(body);
    expect(messages[0].attributes.parse_error).toBe(parseError);
  });

  it('valid JSON is still parsed and published as an event', async () => {
    const body = '{"event_id":"01FINE","object_type":"email","metric":"delivered"}';
    const sub = await project.subscribe(topicId);
    expect((await postJson(url, body)).status).toBe(200);
    const [message] = await sub.drain();
    expect(message.attributes).toMatchObject({
      event_id: '01FINE',
      object_type: 'email',
      metric: 'delivered',
    });
    expect(message.attributes).not.toHaveProperty('parse_error');
  });

  it('an unsigned invalid JSON body gets 401 from cioWebhook, not 400 from the framework', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"event_id":',
      signal: AbortSignal.timeout(20_000),
    });
    expect(res.status).toBe(401);
  });
});
