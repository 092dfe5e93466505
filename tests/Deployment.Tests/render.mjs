// Renders and validates Journey's Kubernetes manifests offline, and prints them as JSON for the
// policy tests (DeploymentTests in this folder).
//
//   node render.mjs --kustomize <dir> [<dir>...]   render each directory with `kubectl kustomize`
//   node render.mjs --files <file> [<file>...]     read plain YAML files as one source (Dapr local
//                                                  resources, the multi-app run file, Helm values)
//   node render.mjs --stdin                        read YAML from standard input (tests feed
//                                                  deliberately broken objects this way)
//
// Output: {"sources":[{"source","objects":[...],"problems":[{"object","field","message"}]}]}.
// Every object with a Kubernetes apiVersion is checked against the OpenAPI schema shipped in
// npm `kubernetes-models` (types, required fields, enums) and, stricter than that schema, for
// fields the API does not define: the API server would drop such a field (a typo such as
// `readOnlyRootFileSystem`) without failing. Dapr's resources have no published schema, so
// their required fields and the references between them are checked by hand below. A missing
// tool (kubectl) is a fatal error with its own message and exit code 2, never a silent pass.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(here, '..', 'tooling', 'node_modules');
if (!existsSync(path.join(modules, 'kubernetes-models'))) {
  fatal(`npm packages not found in ${modules}: build tests/tooling/Tooling.csproj (dotnet build) to install them.`);
}

const YAML = (await import(pathToFileURL(path.join(modules, 'yaml', 'dist', 'index.js')).href)).default;

// The run itself is at the end of the file, after every declaration it uses.

function fatal(message) {
  process.stderr.write(`render.mjs: ${message}\n`);
  process.exit(2);
}

function kustomize(dir) {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error?.code === 'ENOENT') {
    fatal('kubectl was not found on PATH. The deployment tests render k8s/ with `kubectl kustomize`; install kubectl (1.27 or newer) and run them again.');
  }
  if (result.error) {
    fatal(`kubectl kustomize ${dir} could not run: ${result.error.message}`);
  }
  if (result.status !== 0) {
    fatal(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  }
  return result.stdout;
}

async function check(source, text) {
  const problems = [];
  const objects = [];
  // YAML 1.1, as Kubernetes reads manifests (sigs.k8s.io/yaml): 0400 is octal, yes is a boolean.
  for (const doc of YAML.parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length > 0) {
      problems.push({ object: source, field: '', message: `YAML: ${doc.errors.map((e) => e.message).join('; ')}` });
      continue;
    }
    const object = doc.toJS();
    if (object === null || object === undefined) {
      continue;
    }
    // kustomize folds long base64 Secret data over lines; the API server's decoder skips line
    // breaks, the schema's "byte" format does not.
    if (object?.kind === 'Secret' && object.data && typeof object.data === 'object') {
      for (const [key, value] of Object.entries(object.data)) {
        if (typeof value === 'string') object.data[key] = value.replace(/[\r\n]/g, '');
      }
    }
    objects.push(object);
    if (typeof object === 'object' && typeof object.apiVersion === 'string' && typeof object.kind === 'string') {
      problems.push(...(await validate(object)));
    }
  }
  problems.push(...checkDaprReferences(objects));
  return { source, objects, problems };
}

function describe(object) {
  const ns = object.metadata?.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind}/${ns}${object.metadata?.name ?? '(no name)'}`;
}

async function validate(object) {
  const id = describe(object);
  if (object.apiVersion.startsWith('dapr.io/')) {
    return checkDapr(object).map(([field, message]) => ({ object: id, field, message }));
  }
  const model = await loadModel(object.apiVersion, object.kind);
  if (!model) {
    return [{ object: id, field: 'apiVersion', message: `no schema for ${object.apiVersion} ${object.kind}: not a built-in Kubernetes kind, and no hand-written check for it` }];
  }
  const problems = [];
  if (!object.metadata?.name) {
    problems.push({ object: id, field: 'metadata.name', message: 'is required' });
  }
  try {
    new model.Model(object).validate();
  } catch (e) {
    for (const error of e.errors ?? [{ instancePath: '', message: e.message }]) {
      const detail = error.params?.allowedValues ? ` (${error.params.allowedValues.join(', ')})` : '';
      problems.push({ object: id, field: fieldPath(error.instancePath), message: `${error.message}${detail}` });
    }
  }
  for (const [field, message] of unknownFields(object, model.types)) {
    problems.push({ object: id, field, message });
  }
  return problems;
}

function fieldPath(pointer) {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

// --- Built-in kinds -------------------------------------------------------------------------

const modelCache = new Map();

async function loadModel(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    // core/v1 lives in kubernetes-models/v1, apps/v1 in kubernetes-models/apps/v1, and so on.
    const file = path.join(modules, 'kubernetes-models', ...apiVersion.split('/'), `${kind}.js`);
    if (!/^[A-Za-z0-9]+$/.test(kind) || !existsSync(file)) {
      modelCache.set(key, null);
    } else {
      const module = await import(pathToFileURL(file).href);
      modelCache.set(key, { Model: module[kind], types: file.replace(/\.js$/, '.d.ts') });
    }
  }
  return modelCache.get(key);
}

// The schema's validator ignores properties it does not define (the Kubernetes OpenAPI schema has
// no additionalProperties: false). The package's TypeScript declarations list every field of
// every type, so they tell which fields exist.
const interfaceCache = new Map();

function readInterface(file) {
  if (!interfaceCache.has(file)) {
    interfaceCache.set(file, parseInterface(file));
  }
  return interfaceCache.get(file);
}

function parseInterface(file) {
  if (!existsSync(file)) {
    return null;
  }
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const imports = new Map();
  for (const [, names, from] of text.matchAll(/import \{([^}]*)\} from "([^"]+)";/g)) {
    for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) {
      imports.set(name, resolveDeclaration(file, from));
    }
  }
  const start = text.search(/export interface \w+(?: extends [\w, ]+)? \{/);
  if (start < 0) {
    return null;
  }
  return { fields: members(text, text.indexOf('{', start)), imports };
}

// The members of the object type whose opening brace is at text[open], up to its closing brace.
function members(text, open) {
  const fields = new Map();
  let depth = 0;
  let member = '';
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '<') depth++;
    if (c === '}' || c === '>') {
      if (depth === 0) break;
      depth--;
    }
    if (c === ';' && depth === 0) {
      const match = member.trim().match(/^"([^"]+)"\??:\s*([\s\S]+)$/);
      if (match) fields.set(match[1], match[2].trim());
      member = '';
    } else {
      member += c;
    }
  }
  return fields;
}

function resolveDeclaration(from, specifier) {
  const base = specifier.startsWith('.')
    ? path.resolve(path.dirname(from), specifier)
    : path.join(modules, specifier);
  return base.replace(/\.js$/, '') + '.d.ts';
}

function unknownFields(value, typesFile) {
  const found = [];
  walk(value, { kind: 'interface', file: typesFile }, '', found);
  return found;
}

function walk(value, type, at, found) {
  if (value === null || typeof value !== 'object' || !type) return;
  if (type.kind === 'array') {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, type.of, `${at}[${i}]`, found));
    return;
  }
  if (type.kind === 'map') {
    for (const [key, item] of Object.entries(value)) walk(item, type.of, `${at}.${key}`, found);
    return;
  }
  const shape = type.kind === 'inline' ? type : readInterface(type.file);
  if (!shape || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value)) {
    const field = at ? `${at}.${key}` : key;
    if (!shape.fields.has(key)) {
      found.push([field, `is not a field of this object (typo?): the API server would drop it`]);
      continue;
    }
    walk(item, typeOf(shape.fields.get(key), shape.imports), field, found);
  }
}

function typeOf(text, imports) {
  const array = text.match(/^Array<([\s\S]+)>$/);
  if (array) return { kind: 'array', of: typeOf(array[1].trim(), imports) };
  const map = text.match(/^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/);
  if (map) return { kind: 'map', of: typeOf(map[1].trim(), imports) };
  if (imports.has(text)) return { kind: 'interface', file: imports.get(text) };
  // An object type written out in place, e.g. StatefulSetSpec.volumeClaimTemplates.
  if (/^\{\s*"/.test(text)) return { kind: 'inline', fields: members(text, 0), imports };
  return null;
}

// --- Dapr resources -------------------------------------------------------------------------

const duration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const isString = (v) => typeof v === 'string' && v.length > 0;

function allowOnly(object, at, allowed, problems) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return;
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) problems.push([at ? `${at}.${key}` : key, `is not a field of this Dapr resource (allowed: ${allowed.join(', ')})`]);
  }
}

function checkDapr(object) {
  const problems = [];
  const need = (value, field, test, message) => {
    if (!test(value)) problems.push([field, message]);
  };
  need(object.metadata?.name, 'metadata.name', isString, 'is required');
  const spec = object.spec ?? {};
  switch (`${object.apiVersion} ${object.kind}`) {
    case 'dapr.io/v1alpha1 Component': {
      allowOnly(object, '', ['apiVersion', 'kind', 'metadata', 'spec', 'scopes', 'auth'], problems);
      allowOnly(spec, 'spec', ['type', 'version', 'metadata', 'initTimeout', 'ignoreErrors'], problems);
      need(spec.type, 'spec.type', (v) => /^[a-z]+\.[a-z0-9.-]+$/.test(v ?? ''), 'is required: <building block>.<name>, e.g. pubsub.redis');
      need(spec.version, 'spec.version', (v) => /^v\d+(alpha\d+|beta\d+)?$/.test(v ?? ''), 'is required, e.g. v1');
      (spec.metadata ?? []).forEach((item, i) => {
        const at = `spec.metadata[${i}]`;
        allowOnly(item, at, ['name', 'value', 'secretKeyRef', 'envRef'], problems);
        need(item.name, `${at}.name`, isString, 'is required');
        const sources = ['value', 'secretKeyRef', 'envRef'].filter((k) => item[k] !== undefined);
        need(sources, at, (s) => s.length === 1, 'needs exactly one of value, secretKeyRef, envRef');
        if (item.secretKeyRef !== undefined) {
          need(item.secretKeyRef?.name, `${at}.secretKeyRef.name`, isString, 'is required');
          need(item.secretKeyRef?.key, `${at}.secretKeyRef.key`, isString, 'is required');
        }
        if (item.value !== undefined) need(item.value, `${at}.value`, (v) => typeof v === 'string', 'must be a string (quote numbers and booleans)');
      });
      need(object.scopes ?? [], 'scopes', (s) => Array.isArray(s) && s.every(isString), 'must be a list of app ids');
      break;
    }
    case 'dapr.io/v1alpha1 Configuration': {
      allowOnly(spec, 'spec', ['api', 'tracing', 'metrics', 'httpPipeline', 'appHttpPipeline', 'nameResolution', 'secrets', 'components', 'accessControl', 'features', 'logging', 'mtls', 'wasm', 'workflow'], problems);
      if (spec.tracing) {
        allowOnly(spec.tracing, 'spec.tracing', ['samplingRate', 'stdout', 'zipkin', 'otel'], problems);
        need(spec.tracing.samplingRate, 'spec.tracing.samplingRate', (v) => v === undefined || (typeof v === 'string' && !Number.isNaN(Number(v))), 'must be a quoted number, e.g. "1"');
        if (spec.tracing.otel) {
          allowOnly(spec.tracing.otel, 'spec.tracing.otel', ['endpointAddress', 'isSecure', 'protocol'], problems);
          need(spec.tracing.otel.endpointAddress, 'spec.tracing.otel.endpointAddress', isString, 'is required');
          need(spec.tracing.otel.protocol, 'spec.tracing.otel.protocol', (v) => ['grpc', 'http'].includes(v), 'must be grpc or http');
          need(spec.tracing.otel.isSecure, 'spec.tracing.otel.isSecure', (v) => typeof v === 'boolean', 'must be true or false');
        }
      }
      (spec.api?.allowed ?? []).forEach((item, i) => {
        allowOnly(item, `spec.api.allowed[${i}]`, ['name', 'version', 'protocol'], problems);
        need(item.name, `spec.api.allowed[${i}].name`, isString, 'is required');
        need(item.version, `spec.api.allowed[${i}].version`, isString, 'is required');
        need(item.protocol, `spec.api.allowed[${i}].protocol`, (v) => v === undefined || ['http', 'grpc'].includes(v), 'must be http or grpc');
      });
      if (spec.accessControl) {
        need(spec.accessControl.defaultAction, 'spec.accessControl.defaultAction', (v) => ['allow', 'deny'].includes(v), 'must be allow or deny');
      }
      break;
    }
    case 'dapr.io/v1alpha1 Resiliency': {
      allowOnly(object, '', ['apiVersion', 'kind', 'metadata', 'spec', 'scopes'], problems);
      allowOnly(spec, 'spec', ['policies', 'targets'], problems);
      const policies = spec.policies ?? {};
      need(spec.policies, 'spec.policies', (v) => v && typeof v === 'object', 'is required');
      need(spec.targets, 'spec.targets', (v) => v && typeof v === 'object', 'is required');
      allowOnly(policies, 'spec.policies', ['timeouts', 'retries', 'circuitBreakers'], problems);
      for (const [name, value] of Object.entries(policies.timeouts ?? {})) {
        need(value, `spec.policies.timeouts.${name}`, (v) => duration.test(v ?? ''), 'must be a duration such as 5s');
      }
      for (const [name, retry] of Object.entries(policies.retries ?? {})) {
        const at = `spec.policies.retries.${name}`;
        allowOnly(retry, at, ['policy', 'duration', 'maxInterval', 'maxRetries', 'matching'], problems);
        need(retry.policy, `${at}.policy`, (v) => ['constant', 'exponential'].includes(v), 'must be constant or exponential');
        for (const key of ['duration', 'maxInterval']) {
          if (retry[key] !== undefined) need(retry[key], `${at}.${key}`, (v) => duration.test(v), 'must be a duration such as 5s');
        }
        need(retry.maxRetries, `${at}.maxRetries`, (v) => v === undefined || Number.isInteger(v), 'must be an integer (-1: forever)');
        if (retry.matching) {
          allowOnly(retry.matching, `${at}.matching`, ['httpStatusCodes', 'gRPCStatusCodes'], problems);
          need(retry.matching.gRPCStatusCodes, `${at}.matching.gRPCStatusCodes`, (v) => v === undefined || /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v), 'must be a comma-separated list of codes or ranges');
          need(retry.matching.httpStatusCodes, `${at}.matching.httpStatusCodes`, (v) => v === undefined || /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v), 'must be a comma-separated list of codes or ranges');
        }
      }
      for (const [name, breaker] of Object.entries(policies.circuitBreakers ?? {})) {
        const at = `spec.policies.circuitBreakers.${name}`;
        allowOnly(breaker, at, ['maxRequests', 'interval', 'timeout', 'trip'], problems);
        need(breaker.trip, `${at}.trip`, isString, 'is required (a CEL expression such as consecutiveFailures > 5)');
        for (const key of ['interval', 'timeout']) {
          if (breaker[key] !== undefined) need(breaker[key], `${at}.${key}`, (v) => duration.test(v), 'must be a duration such as 30s');
        }
      }
      const refer = (target, at) => {
        allowOnly(target, at, ['timeout', 'retry', 'circuitBreaker', 'circuitBreakerScope', 'circuitBreakerCacheSize'], problems);
        for (const [key, group] of [['timeout', 'timeouts'], ['retry', 'retries'], ['circuitBreaker', 'circuitBreakers']]) {
          if (target?.[key] !== undefined) {
            need(target[key], `${at}.${key}`, (v) => Object.hasOwn(policies[group] ?? {}, v), `names no policy in spec.policies.${group}`);
          }
        }
      };
      const targets = spec.targets ?? {};
      allowOnly(targets, 'spec.targets', ['apps', 'actors', 'components'], problems);
      for (const [name, target] of Object.entries(targets.apps ?? {})) refer(target, `spec.targets.apps.${name}`);
      for (const [name, target] of Object.entries(targets.actors ?? {})) refer(target, `spec.targets.actors.${name}`);
      for (const [name, target] of Object.entries(targets.components ?? {})) {
        allowOnly(target, `spec.targets.components.${name}`, ['inbound', 'outbound'], problems);
        for (const direction of ['inbound', 'outbound']) {
          if (target?.[direction]) refer(target[direction], `spec.targets.components.${name}.${direction}`);
        }
      }
      break;
    }
    case 'dapr.io/v2alpha1 Subscription': {
      allowOnly(object, '', ['apiVersion', 'kind', 'metadata', 'spec', 'scopes'], problems);
      allowOnly(spec, 'spec', ['pubsubname', 'topic', 'routes', 'deadLetterTopic', 'metadata', 'bulkSubscribe'], problems);
      need(spec.pubsubname, 'spec.pubsubname', isString, 'is required');
      need(spec.topic, 'spec.topic', isString, 'is required');
      need(spec.routes?.default ?? spec.routes?.rules, 'spec.routes', (v) => v !== undefined, 'needs a default route or rules');
      break;
    }
    default:
      problems.push(['kind', `${object.apiVersion} ${object.kind} has no hand-written check (Component, Configuration, Resiliency, Subscription)`]);
  }
  return problems;
}

// References between Dapr resources of one render: a Resiliency component target must name a
// Component, and a Subscription a pub/sub Component.
function checkDaprReferences(objects) {
  const problems = [];
  const components = new Set(objects.filter((o) => o?.kind === 'Component' && o.apiVersion?.startsWith('dapr.io/')).map((o) => o.metadata?.name));
  for (const object of objects.filter((o) => o?.apiVersion?.startsWith?.('dapr.io/'))) {
    if (object.kind === 'Resiliency') {
      for (const name of Object.keys(object.spec?.targets?.components ?? {})) {
        if (!components.has(name)) {
          problems.push({ object: describe(object), field: `spec.targets.components.${name}`, message: 'names no Dapr Component in this render' });
        }
      }
    }
    if (object.kind === 'Subscription' && !components.has(object.spec?.pubsubname)) {
      problems.push({ object: describe(object), field: 'spec.pubsubname', message: 'names no Dapr Component in this render' });
    }
  }
  return problems;
}

// --- Run ------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const mode = args.shift();
const sources = [];
if (mode === '--kustomize') {
  for (const dir of args) {
    sources.push(await check(dir, kustomize(dir)));
  }
} else if (mode === '--files') {
  // One source: resources in separate files refer to one another, as in a Dapr resources folder.
  sources.push(await check(args.join(' '), args.map((file) => readFileSync(file, 'utf8')).join('\n---\n')));
} else if (mode === '--stdin') {
  sources.push(await check('stdin', readFileSync(0, 'utf8')));
} else {
  fatal('usage: node render.mjs --kustomize <dir>... | --files <file>... | --stdin');
}
process.stdout.write(JSON.stringify({ sources }));
