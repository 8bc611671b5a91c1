// The descriptor the cioWebhook bundle gives its Pub/Sub client (scripts/packaging/publish-only-protos.ts). If it
// lost a type or a field that Publish sends, the client would encode messages wrongly or fail on the first request;
// the packaging tests publish through it end to end, these pin the pruning itself.
import { readFileSync } from 'node:fs';
import { publishOnlyProtos, type ProtoNode } from '../../scripts/packaging/publish-only-protos';

const PUBSUB_DESCRIPTOR: ProtoNode = JSON.parse(
  readFileSync(require.resolve('@google-cloud/pubsub-api/build/protos/protos.json'), 'utf8'),
) as ProtoNode;

function at(root: ProtoNode, name: string): ProtoNode | undefined {
  let node: ProtoNode | undefined = root;
  for (const part of name.split('.')) node = node?.nested?.[part];
  return node;
}

/** Full names of every message, enum and service in a descriptor. */
function types(node: ProtoNode, prefix = ''): string[] {
  return Object.entries(node.nested ?? {}).flatMap(([name, child]) => {
    const full = prefix ? `${prefix}.${name}` : name;
    const own = child.fields || child.values || child.methods ? [full] : [];
    return [...own, ...types(child, full)];
  });
}

describe('publishOnlyProtos on the installed Pub/Sub descriptor', () => {
  const pruned = publishOnlyProtos(PUBSUB_DESCRIPTOR, 'google.pubsub.v1.Publisher', ['Publish']);

  it('keeps the Publisher service with Publish alone, and no other service', () => {
    expect(Object.keys(at(pruned, 'google.pubsub.v1.Publisher')?.methods ?? {})).toEqual(['Publish']);
    expect(at(pruned, 'google.pubsub.v1.Subscriber')).toBeUndefined();
    expect(at(pruned, 'google.pubsub.v1.SchemaService')).toBeUndefined();
    // The full descriptor has them: the test would pass vacuously otherwise.
    expect(
      Object.keys(at(PUBSUB_DESCRIPTOR, 'google.pubsub.v1.Publisher')?.methods ?? {}).length,
    ).toBeGreaterThan(1);
  });

  it('keeps exactly the messages Publish reaches, each with every field it has in the full descriptor', () => {
    expect(types(pruned).sort()).toEqual([
      'google.protobuf.Timestamp',
      'google.pubsub.v1.PublishRequest',
      'google.pubsub.v1.PublishResponse',
      'google.pubsub.v1.Publisher',
      'google.pubsub.v1.PubsubMessage',
    ]);
    for (const name of ['google.pubsub.v1.PubsubMessage', 'google.pubsub.v1.PublishRequest']) {
      expect(at(pruned, name)).toEqual(at(PUBSUB_DESCRIPTOR, name));
    }
    expect(Object.keys(at(pruned, 'google.pubsub.v1.PubsubMessage')?.fields ?? {})).toEqual(
      expect.arrayContaining(['data', 'attributes', 'messageId', 'publishTime', 'orderingKey']),
    );
  });

  it('is a small part of the full descriptor', () => {
    expect(JSON.stringify(pruned).length).toBeLessThan(JSON.stringify(PUBSUB_DESCRIPTOR).length / 10);
  });
});

describe('publishOnlyProtos name resolution', () => {
  const descriptor: ProtoNode = {
    nested: {
      shared: { nested: { Stamp: { fields: { seconds: { type: 'int64', id: 1 } } } } },
      app: {
        nested: {
          Level: { values: { LOW: 0, HIGH: 1 } },
          Unused: { fields: { x: { type: 'string', id: 1 } } },
          Request: {
            fields: {
              item: { type: 'Item', id: 1 },
              level: { type: 'Level', id: 2 },
              stamp: { type: '.shared.Stamp', id: 3 },
              labels: { keyType: 'string', type: 'Label', id: 4 },
            },
            nested: { Item: { fields: { name: { type: 'string', id: 1 } } } },
          },
          Label: { fields: { text: { type: 'string', id: 1 } } },
          Reply: { fields: {} },
          Service: {
            methods: {
              Call: { requestType: 'Request', responseType: 'Reply' },
              Other: { requestType: 'Unused', responseType: 'Reply' },
            },
          },
        },
      },
    },
  };

  it('follows nested, enclosing-scope, fully qualified, enum and map value types', () => {
    const pruned = publishOnlyProtos(descriptor, 'app.Service', ['Call']);
    expect(types(pruned).sort()).toEqual([
      'app.Label',
      'app.Level',
      'app.Reply',
      'app.Request',
      'app.Request.Item',
      'app.Service',
      'shared.Stamp',
    ]);
    expect(Object.keys(at(pruned, 'app.Service')?.methods ?? {})).toEqual(['Call']);
  });

  it('fails, naming it, on a type the descriptor does not define', () => {
    const broken: ProtoNode = JSON.parse(JSON.stringify(descriptor)) as ProtoNode;
    delete at(broken, 'app')!.nested!.Label;
    expect(() => publishOnlyProtos(broken, 'app.Service', ['Call'])).toThrow(
      'type Label (used in app.Request)',
    );
  });

  it('fails on an unknown service or method', () => {
    expect(() => publishOnlyProtos(descriptor, 'app.Nope', ['Call'])).toThrow('service app.Nope');
    expect(() => publishOnlyProtos(descriptor, 'app.Service', ['Nope'])).toThrow(
      'app.Service has no method Nope',
    );
  });
});
