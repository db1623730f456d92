import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';

export const K8S_DIR = join(__dirname, '..', 'k8s');

interface ManifestHead {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}
/** One document of the base, with the file it came from. */
export type Manifest = ManifestHead & { file: string; [field: string]: unknown };

/**
 * Each kind the base may hold, with its model: `validate()` checks an object against the Kubernetes OpenAPI
 * schema of that kind (kubernetes-models) or KEDA's CRD schema (@kubernetes-models/keda, generated from KEDA's
 * CRDs), and throws with the failing path. A kind missing here fails the test rather than going unchecked.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** The kustomize base as `kubectl apply -k` would read it: every document of every file in its resources. */
export function loadKustomizeBase(dir = K8S_DIR): { resources: string[]; manifests: Manifest[] } {
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const manifests = kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc): Manifest => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const object: unknown = doc.toJS();
      if (!isManifest(object)) throw new Error(`${file}: a document without apiVersion, kind and metadata.name`);
      return { ...object, file };
    }),
  );
  return { resources: kustomization.resources, manifests };
}

/** The YAML files in the base's directory, to check that none is left out of its resources. */
export function yamlFilesIn(dir = K8S_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
}

/** Throws (naming the file, kind and name) when the manifest does not fit its schema or its kind is unknown. */
export function validateManifest(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  const where = `${manifest.file}: ${manifest.kind} ${manifest.metadata?.name}`;
  if (Model === undefined) throw new Error(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  const { file: _file, ...object } = manifest;
  try {
    new Model(object as never).validate();
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isManifest(value: unknown): value is ManifestHead & Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind, metadata } = value as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string' && typeof (metadata as { name?: unknown } | undefined)?.name === 'string';
}
