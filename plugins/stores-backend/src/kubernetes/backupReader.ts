import { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { NotFoundError, ServiceUnavailableError } from '@backstage/errors';
import type { IncomingMessage } from 'node:http';
import { formatMebibytes, formatMillicores } from '../engines/quantity';
import { BACKUPS_DIR, BACKUPS_PVC, backupFile } from './backupResources';
import { KubernetesClient } from './KubernetesClient';
import {
  BACKUP_READER_CONTAINER,
  StoreIdentity,
  storeLabels,
} from './storeResources';

/** The pod that serves a store's backup files to downloads (one per store namespace). */
export const BACKUP_READER_POD = 'backup-reader';
export const BACKUP_READER_PORT = 8080;
export const BACKUP_READER_ROLE = 'backup-reader';

/**
 * How long a reader pod lives. Nothing deletes it after a download (a replica's timer would
 * not survive a restart, and another download may be streaming from it): the kubelet stops it
 * at this deadline, and the next download replaces the stopped pod with a new one.
 */
export const BACKUP_READER_LIFETIME_SECONDS = 3600;

export function backupReaderLabels(
  store: StoreIdentity,
): Record<string, string> {
  return { ...storeLabels(store), 'storeplane.io/role': BACKUP_READER_ROLE };
}

/**
 * busybox httpd serving the backups volume read-only on port 8080, as the engine's backup user
 * (who wrote the files), at the restricted Pod Security level like every store pod.
 */
export function backupReaderPodManifest(options: {
  store: StoreIdentity;
  image: string;
  runAsUser: number;
}): KubernetesObject {
  const { store, image, runAsUser } = options;
  const c = BACKUP_READER_CONTAINER;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: BACKUP_READER_POD,
      namespace: store.namespace,
      labels: backupReaderLabels(store),
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: BACKUP_READER_LIFETIME_SECONDS,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser,
        runAsGroup: runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'httpd',
          image,
          command: [
            'httpd',
            '-f',
            '-p',
            String(BACKUP_READER_PORT),
            '-h',
            BACKUPS_DIR,
          ],
          ports: [
            {
              name: 'http',
              containerPort: BACKUP_READER_PORT,
              protocol: 'TCP',
            },
          ],
          readinessProbe: {
            tcpSocket: { port: 'http' },
            periodSeconds: 2,
          },
          resources: {
            requests: {
              cpu: formatMillicores(c.requestsCpu),
              memory: formatMebibytes(c.requestsMemory),
            },
            limits: {
              cpu: formatMillicores(c.limitsCpu),
              memory: formatMebibytes(c.limitsMemory),
            },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [
            { name: 'backups', mountPath: BACKUPS_DIR, readOnly: true },
          ],
        },
      ],
      volumes: [
        {
          name: 'backups',
          persistentVolumeClaim: { claimName: BACKUPS_PVC, readOnly: true },
        },
      ],
    },
  } as KubernetesObject;
}

const isReady = (pod: V1Pod) =>
  pod.status?.phase === 'Running' &&
  pod.status.conditions?.some(c => c.type === 'Ready' && c.status === 'True');

const isFinished = (pod: V1Pod) =>
  pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/**
 * Makes sure the store's reader pod runs and is ready: creates it when absent, replaces one
 * that stopped (its lifetime ran out), and waits for it, for at most `waitMs`.
 */
export async function ensureBackupReader(
  kube: KubernetesClient,
  options: {
    store: StoreIdentity;
    image: string;
    runAsUser: number;
    waitMs: number;
    pollMs?: number;
  },
): Promise<void> {
  const { store, waitMs, pollMs = 500 } = options;
  const started = Date.now();
  let lastSeen = 'absent';
  for (;;) {
    const pod = await kube.read<V1Pod>(
      'v1',
      'Pod',
      store.namespace,
      BACKUP_READER_POD,
    );
    if (!pod) {
      await kube.createIfAbsent(backupReaderPodManifest(options));
    } else if (isReady(pod)) {
      return;
    } else if (isFinished(pod) && !pod.metadata?.deletionTimestamp) {
      await kube.delete('v1', 'Pod', store.namespace, BACKUP_READER_POD);
    }
    lastSeen = pod
      ? `${pod.metadata?.deletionTimestamp ? 'stopping' : pod.status?.phase}`
      : 'being created';
    if (Date.now() - started >= waitMs) {
      throw new ServiceUnavailableError(
        `The pod that serves backup files (${
          store.namespace
        }/${BACKUP_READER_POD}) was not ready within ${Math.round(
          waitMs / 1000,
        )} s (last seen: ${lastSeen}); try the download again in a minute, and if it keeps failing look at the pod's events`,
      );
    }
    await new Promise(resolve => setTimeout(resolve, pollMs));
  }
}

/**
 * Opens a backup file through the API server's pod proxy to the reader. Resolves with the
 * response once its headers arrived (the body streams); a non-200 answer is an error that says
 * what the proxy answered.
 */
export async function openBackupFile(
  kube: KubernetesClient,
  options: { namespace: string; backupId: string; headersWithinMs: number },
): Promise<IncomingMessage> {
  const { namespace, backupId, headersWithinMs } = options;
  const path = backupFile(backupId).slice(BACKUPS_DIR.length);
  const response = await kube.openThroughPodProxy(
    namespace,
    BACKUP_READER_POD,
    String(BACKUP_READER_PORT),
    path,
    headersWithinMs,
  );
  if (response.statusCode !== 200) {
    const refusal =
      response.statusCode === 401 || response.statusCode === 403
        ? await apiServerRefusal(response)
        : (response.resume(), undefined);
    if (refusal !== undefined) {
      throw new ServiceUnavailableError(
        `Kubernetes refused Storeplane's read through the pod proxy (${response.statusCode}): ${refusal}. Storeplane's service account needs get on pods/proxy in store namespaces; check the ClusterRoles from the storeplane-rbac chart`,
      );
    }
    if (response.statusCode === 404) {
      throw new NotFoundError(
        `The backup file ${path.slice(
          1,
        )} is not on the store's backups volume (it was removed, or the volume was replaced); make a new backup`,
      );
    }
    throw new ServiceUnavailableError(
      `The API server's proxy to the backup reader answered HTTP ${response.statusCode}; try again in a minute`,
    );
  }
  return response;
}

/**
 * The API server's message when it, not the reader, refused the proxied request: its answer is
 * a Status object (busybox httpd answers a 403 of its own, in HTML, for an unreadable file).
 */
async function apiServerRefusal(
  response: IncomingMessage,
): Promise<string | undefined> {
  let body = '';
  for await (const chunk of response) {
    if (body.length < 4096) body += String(chunk);
  }
  try {
    const status = JSON.parse(body);
    return status?.kind === 'Status' ? String(status.message) : undefined;
  } catch {
    return undefined;
  }
}
