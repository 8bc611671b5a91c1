// The Pub/Sub descriptor the cioWebhook bundle gives its PublisherClient: only the Publish method and the messages it
// reaches. The client turns its whole descriptor (every Publisher, Subscriber and SchemaService type) into gRPC
// definitions when it is constructed, the largest single cost of a cold start after loading modules; the webhook
// only ever calls Publish. Works on protobufjs's JSON form (the client's protos.json) so the pruned file is what the
// unmodified client loads.

/** A namespace, message, enum or service in protobufjs JSON. */
export interface ProtoNode {
  nested?: Record<string, ProtoNode>;
  fields?: Record<string, { type: string; keyType?: string; id: number }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  values?: Record<string, number>;
  [key: string]: unknown;
}

const SCALARS = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

function nodeAt(root: ProtoNode, path: string[]): ProtoNode | undefined {
  let node: ProtoNode | undefined = root;
  for (const name of path) node = node?.nested?.[name];
  return node;
}

/** Protobuf name resolution: `name` as seen from `scope`, searching the scope and then each enclosing one. */
function resolve(root: ProtoNode, scope: string[], name: string): string[] {
  const parts = name.replace(/^\./, '').split('.');
  const starts = name.startsWith('.')
    ? [0]
    : Array.from({ length: scope.length + 1 }, (_, i) => scope.length - i);
  for (const depth of starts) {
    const candidate = [...scope.slice(0, depth), ...parts];
    if (nodeAt(root, candidate)) return candidate;
  }
  throw new Error(`type ${name} (used in ${scope.join('.')}) is not in the descriptor`);
}

/**
 * `descriptor` cut down to `service` with only `methods`, and the messages and enums those methods reach (with
 * their nested types). Names are full names without the leading dot, e.g. `google.pubsub.v1.Publisher`.
 */
export function publishOnlyProtos(descriptor: ProtoNode, service: string, methods: string[]): ProtoNode {
  const servicePath = service.split('.');
  const serviceNode = nodeAt(descriptor, servicePath);
  if (!serviceNode?.methods) throw new Error(`service ${service} is not in the descriptor`);

  const kept = new Set<string>();
  const visit = (path: string[]): void => {
    const key = path.join('.');
    if (kept.has(key)) return;
    kept.add(key);
    const node = nodeAt(descriptor, path)!;
    for (const field of Object.values(node.fields ?? {})) {
      if (!SCALARS.has(field.type)) visit(resolve(descriptor, path, field.type));
    }
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      if (child.fields || child.values) visit([...path, name]);
    }
  };
  const scope = servicePath.slice(0, -1);
  const keptMethods: NonNullable<ProtoNode['methods']> = {};
  for (const method of methods) {
    const definition = serviceNode.methods[method];
    if (!definition) throw new Error(`${service} has no method ${method}`);
    keptMethods[method] = definition;
    visit(resolve(descriptor, scope, definition.requestType));
    visit(resolve(descriptor, scope, definition.responseType));
  }

  const prune = (node: ProtoNode, path: string[]): ProtoNode => {
    const nested: Record<string, ProtoNode> = {};
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      const childPath = [...path, name];
      const key = childPath.join('.');
      if (key === service) nested[name] = { ...child, methods: keptMethods };
      else if (kept.has(key)) nested[name] = child;
      else if ([...kept, service].some((k) => k.startsWith(`${key}.`)))
        nested[name] = prune(child, childPath);
    }
    return { ...node, nested };
  };
  return prune(descriptor, []);
}
