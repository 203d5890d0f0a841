import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { Link } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { Store, StorePod } from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { LiveReadCard } from './LiveReadCard';

function describeLastTermination(pod: StorePod): string {
  const last = pod.lastTermination;
  if (!last) return '—';
  return `${last.reason} (exit ${last.exitCode}${
    last.finishedAt ? `, ${new Date(last.finishedAt).toLocaleString()}` : ''
  })`;
}

const PodsTable = ({ pods }: { pods: StorePod[] }) => (
  <Table size="small" aria-label="Pods">
    <TableHead>
      <TableRow>
        <TableCell>Pod</TableCell>
        <TableCell>Phase</TableCell>
        <TableCell>Ready</TableCell>
        <TableCell>Restarts</TableCell>
        <TableCell>Last termination</TableCell>
      </TableRow>
    </TableHead>
    <TableBody>
      {pods.map(pod => (
        <TableRow key={pod.name}>
          <TableCell>{pod.name}</TableCell>
          <TableCell>
            {pod.waitingReason
              ? `${pod.phase} (${pod.waitingReason})`
              : pod.phase}
          </TableCell>
          <TableCell>{pod.ready ? 'yes' : 'no'}</TableCell>
          <TableCell>{pod.restarts}</TableCell>
          <TableCell>{describeLastTermination(pod)}</TableCell>
        </TableRow>
      ))}
    </TableBody>
  </Table>
);

/**
 * What runs in the store's namespace, read live through the stores backend: pods (readiness,
 * restarts, why a container last ended), replica counts and volume claims. Reloaded whenever
 * the store changes; the Kubernetes tab has the full picture.
 */
export const StoreWorkloadsCard = ({ store }: { store: Store }) => {
  const storesApi = useApi(storesApiRef);
  return (
    <LiveReadCard
      title="Workloads"
      read={() => storesApi.getStoreWorkloads(store.id)}
      deps={[storesApi, store.id, store.status, store.updatedAt]}
    >
      {value => (
        <>
          {value.pods.length === 0 ? (
            <Typography variant="body2" color="textSecondary">
              No pods in namespace {value.namespace} yet.
            </Typography>
          ) : (
            <PodsTable pods={value.pods} />
          )}
          {value.workloads.length > 0 && (
            <Typography variant="body2" component="div">
              {value.workloads.map(w => (
                <div key={`${w.kind}/${w.name}`}>
                  {w.kind} {w.name}: {w.readyReplicas} of {w.desiredReplicas}{' '}
                  ready, {w.availableReplicas} available
                </div>
              ))}
            </Typography>
          )}
          {value.volumeClaims.length > 0 && (
            <Typography variant="body2" component="div">
              {value.volumeClaims.map(c => (
                <div key={c.name}>
                  Volume {c.name}: {c.phase}, {c.capacity ?? c.requested}
                  {c.capacity ? '' : ' requested'}
                </div>
              ))}
              <Typography variant="caption" color="textSecondary">
                {value.usageNote}
              </Typography>
            </Typography>
          )}
          <Typography variant="body2">
            <Link to="../kubernetes" relative="path">
              Open the Kubernetes tab
            </Link>{' '}
            for events, logs and the full objects.
          </Typography>
        </>
      )}
    </LiveReadCard>
  );
};
