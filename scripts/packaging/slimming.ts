// What the cioWebhook bundle leaves out of, slims in, or patches into the Pub/Sub client and its dependencies, and why
// (a measured cold-start cost each; the whole cold start is in BENCHMARKS.md). Tables only, applied by
// scripts/packaging/webhook-bundle.ts; every entry must still apply, so a dependency update that moves or rewrites one
// fails the packaging instead of bringing the cost back or shipping half-patched code.

import { publishOnlyProtos, type ProtoNode } from './publish-only-protos';

/**
 * Modules the clients load at startup but Publish never runs. The bundle gets a stand-in for each that throws if
 * anything ever reads it, so a client version that starts using one fails loudly in the packaging tests instead of
 * misbehaving:
 * - static protobufjs modules (megabytes of generated code, a large share of the load time) required only to export
 *   them as `protos` for callers' TypeScript types (the clients themselves work from protos.json), or, in
 *   longrunning.js, only to poll or cancel a long-running operation, which Publish never returns;
 * - the handwritten client's Topic, Subscription, Snapshot, Schema and IAM classes and its tracing: the webhook
 *   builds a `PubSub` only to resolve the generated client's options (emulator endpoint, gRPC defaults).
 */
export const LEFT_OUT: Record<string, RegExp> = {
  'node_modules/@google-cloud/pubsub/build/src/index.js':
    /^(\.\.\/protos\/protos|\.\/(iam|snapshot|subscriber|schema|subscription|topic|temporal|debug))$/,
  'node_modules/@google-cloud/pubsub/build/src/pubsub.js':
    /^\.\/(subscription|snapshot|topic|schema|telemetry-tracing)$/,
  'node_modules/@google-cloud/pubsub-api/build/src/index.js': /^\.\.\/protos\/protos$/,
  'node_modules/google-gax/build/src/index.js': /^\.\.\/protos\/(iam_service|locations|operations)$/,
  'node_modules/google-gax/build/src/fallback.js': /^\.\.\/protos\/(iam_service|locations|operations)$/,
  'node_modules/google-gax/build/src/longRunningCalls/longrunning.js': /^\.\.\/\.\.\/protos\/operations$/,
};

/**
 * Descriptors (protobufjs JSON) that the Pub/Sub client turns into gRPC definitions when it is constructed, the
 * largest cost of a cold start after loading modules, replaced in the bundle by what Publish needs:
 * - the Pub/Sub descriptor (all three v1 services) by Publisher.Publish and its messages (publish-only-protos.ts);
 *   a Subscriber or SchemaService client, or another Publisher method, would fail on the missing definitions;
 * - the IAM descriptor by an empty one: every v1 client builds an IamClient, which loads it at once but uses it
 *   only for an IAM call (getIamPolicy and the like), where the empty one fails.
 */
export const SLIMMED_DESCRIPTORS: Record<string, (full: ProtoNode) => ProtoNode> = {
  'node_modules/@google-cloud/pubsub-api/build/protos/protos.json': (full) =>
    publishOnlyProtos(full, 'google.pubsub.v1.Publisher', ['Publish']),
  'node_modules/google-gax/build/protos/iam_service.json': () => ({ nested: {} }),
};

/** Source of the error that code left out of the bundle throws when something reaches it. */
function leftOutError(what: string): string {
  return `new Error(${JSON.stringify(`${what} was left out of the cioWebhook bundle (scripts/packaging/slimming.ts)`)})`;
}

/** Source of an object that throws when anything reads it: what the bundle has instead of a module it left out. */
export function standIn(what: string): string {
  return (
    `new Proxy({}, { get(_, key) {\n` +
    `  if (key === '__esModule' || typeof key === 'symbol') return undefined;\n` +
    `  throw ${leftOutError(what)};\n` +
    `} })`
  );
}

/** Getters in place of proto-loader's descriptor-proto fields (see PATCHED_SOURCES). */
const DESCRIPTOR_PROTO_GETTERS =
  `        get type() { throw ${leftOutError("proto-loader's descriptor proto (type)")}; },\n` +
  `        get fileDescriptorProtos() { throw ${leftOutError("proto-loader's file descriptors (fileDescriptorProtos)")}; },\n`;

/**
 * Passages of dependencies' code that the bundle replaces, each [find, replace]; every `find` must occur exactly once,
 * so a dependency update that changes one fails the packaging instead of bringing the cost back:
 * - @grpc/proto-loader gives every message, enum and proto file a description as descriptor protos (`type`,
 *   `fileDescriptorProtos`), which only a gRPC server's reflection service reads: grpc-js and google-gax never do.
 *   Building them runs protobufjs's descriptor extension (loaded for this alone) over the Publish descriptor:
 *   a measurable share of every cold start in A/B runs. The bundle leaves them out; reading one throws.
 */
export const PATCHED_SOURCES: Record<string, Array<[find: string, replace: string]>> = {
  'node_modules/@grpc/proto-loader/build/src/index.js': [
    [
      'const descriptor = require("protobufjs/ext/descriptor");',
      `const descriptor = ${standIn('protobufjs/ext/descriptor')};`,
    ],
    [
      "    const descriptorList = root.toDescriptor('proto3').file;\n" +
        '    const bufferList = descriptorList.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish()));\n',
      '    const bufferList = undefined;\n',
    ],
    ["    const messageDescriptor = message.toDescriptor('proto3');\n", ''],
    [
      '        type: messageDescriptor.$type.toObject(messageDescriptor, descriptorOptions),\n' +
        '        fileDescriptorProtos: fileDescriptors,\n',
      DESCRIPTOR_PROTO_GETTERS,
    ],
    ["    const enumDescriptor = enumType.toDescriptor('proto3');\n", ''],
    [
      '        type: enumDescriptor.$type.toObject(enumDescriptor, descriptorOptions),\n' +
        '        fileDescriptorProtos: fileDescriptors,\n',
      DESCRIPTOR_PROTO_GETTERS,
    ],
  ],
};

/** `source` with each [find, replace] applied; throws naming `file` if a `find` does not occur exactly once. */
export function patchSource(file: string, source: string, patches: Array<[string, string]>): string {
  let patched = source;
  for (const [find, replace] of patches) {
    const at = patched.indexOf(find);
    if (at === -1 || patched.indexOf(find, at + 1) !== -1) {
      const excerpt = find.trim().split('\n')[0]!.slice(0, 80);
      throw new Error(
        `${file}: the passage the cioWebhook bundle patches ("${excerpt}") is not there exactly once`,
      );
    }
    patched = patched.slice(0, at) + replace + patched.slice(at + find.length);
  }
  return patched;
}
