// Telemetry names of a pod: the workload (Deployment, Job, CronJob or the pod) found from its
// controller owner reference, and the canonical service name and revision from its labels.

import type { KubeObject } from '../../k8s/index.js';
import type { WorkloadType } from '../../state/index.js';
import { LABEL, labelsOf, type Labels } from './labels.js';

/** A Job name made by a CronJob: `<cronjob>-<8 to 10 digit schedule time>` (kubeutil cronJobNameRegexp). */
const CRONJOB_JOB_NAME = /(.+)-\d{8,10}$/;

export interface WorkloadMeta {
  readonly workloadName: string;
  readonly workloadType: WorkloadType;
}

/**
 * istio pkg/kube GetDeployMetaFromPod, for pods with a generateName and a controller owner:
 * - ReplicaSet whose name ends with the pod's `pod-template-hash` ⇒ Deployment (name minus the hash);
 * - Job named `<x>-<8..10 digits>` ⇒ CronJob `<x>`; any other Job ⇒ Job;
 * - any other controller (StatefulSet, DaemonSet, a bare ReplicaSet) ⇒ its name, type pod;
 * - no controller ⇒ the pod itself.
 * The name is then overridden by the `service.istio.io/workload-name` label (GetWorkloadMetaFromPod).
 * Type: earlier istiod sent DEPLOYMENT/JOB/CRONJOB/POD from the same derivation
 * (workloads.go workloadNameAndType); current istiod always sends POD "for backwards
 * compatibility". Ambit keeps the derived type, which the agent reports in baggage and metrics.
 */
export function workloadMeta(pod: KubeObject<'Pod'>): WorkloadMeta {
  const labels = labelsOf(pod);
  let name = pod.metadata.name;
  let type: WorkloadType = 'pod';
  if (pod.metadata.generateName) {
    const controller = (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
    if (controller) {
      name = controller.name;
      const hash = labels[LABEL.podTemplateHash];
      if (controller.kind === 'ReplicaSet' && hash && controller.name.endsWith(hash)) {
        name = stripSuffix(controller.name, `-${hash}`);
        type = 'deployment';
      } else if (controller.kind === 'Job') {
        const cron = CRONJOB_JOB_NAME.exec(controller.name);
        if (cron?.[1] !== undefined) {
          name = cron[1];
          type = 'cronjob';
        } else {
          type = 'job';
        }
      }
    }
  }
  if (name === '') name = pod.metadata.name;
  const override = labels[LABEL.workloadName];
  if (override !== undefined) name = override;
  return { workloadName: name, workloadType: type };
}

function stripSuffix(text: string, suffix: string): string {
  return text.endsWith(suffix) ? text.slice(0, -suffix.length) : text;
}

export interface CanonicalService {
  readonly canonicalName: string;
  readonly canonicalRevision: string;
}

/**
 * istio pkg/kube/labels CanonicalService: the first label present among
 * service.istio.io/canonical-name, app.kubernetes.io/name, app (else the workload name), and
 * among service.istio.io/canonical-revision, app.kubernetes.io/version, version (else `latest`).
 * A label present with an empty value counts as present.
 */
export function canonicalService(labels: Labels, workloadName: string): CanonicalService {
  return {
    canonicalName: firstLabel(labels, [LABEL.canonicalName, 'app.kubernetes.io/name', 'app']) ?? workloadName,
    canonicalRevision: firstLabel(labels, [LABEL.canonicalRevision, 'app.kubernetes.io/version', 'version']) ?? 'latest',
  };
}

function firstLabel(labels: Labels, keys: readonly string[]): string | undefined {
  for (const k of keys) if (Object.hasOwn(labels, k)) return labels[k];
  return undefined;
}
