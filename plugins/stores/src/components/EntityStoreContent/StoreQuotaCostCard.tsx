import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { useApi } from '@backstage/core-plugin-api';
import {
  Store,
  StoreResourceUsage,
  StoreUsageCost,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { LiveReadCard } from './LiveReadCard';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

const RESOURCE_LABELS: Record<StoreResourceUsage['resource'], string> = {
  cpu: 'CPU',
  memory: 'Memory',
  storage: 'Storage',
  pods: 'Pods',
};

const decimal = (value: number, digits: number) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits });

function formatAmount(
  amount: number,
  unit: StoreResourceUsage['unit'],
): string {
  switch (unit) {
    case 'cores':
      return `${decimal(amount, 3)} ${amount === 1 ? 'core' : 'cores'}`;
    case 'bytes':
      return amount >= GIB
        ? `${decimal(amount / GIB, 2)} GiB`
        : `${decimal(amount / MIB, 1)} MiB`;
    default:
      return decimal(amount, 0);
  }
}

/** A whole-number percentage of the quota in use, or undefined when there is nothing to compare. */
function percentUsed(resource: StoreResourceUsage): number | undefined {
  const { usedAmount, hardAmount } = resource;
  if (usedAmount === null || hardAmount === null || hardAmount <= 0) {
    return undefined;
  }
  return Math.min(100, Math.round((usedAmount / hardAmount) * 100));
}

const ResourceRow = ({ resource }: { resource: StoreResourceUsage }) => {
  const label = RESOURCE_LABELS[resource.resource];
  const percent = percentUsed(resource);
  return (
    <TableRow>
      <TableCell component="th" scope="row">
        {label}
      </TableCell>
      <TableCell>
        {resource.usedAmount === null
          ? 'not reported'
          : formatAmount(resource.usedAmount, resource.unit)}
      </TableCell>
      <TableCell>
        {resource.hardAmount === null
          ? 'no limit'
          : formatAmount(resource.hardAmount, resource.unit)}
      </TableCell>
      <TableCell style={{ width: '30%' }}>
        {percent !== undefined && (
          <Box display="flex" alignItems="center" gridGap={8}>
            <Box flexGrow={1}>
              <LinearProgress
                variant="determinate"
                value={percent}
                color={percent >= 90 ? 'secondary' : 'primary'}
                aria-label={`${label} used of quota`}
              />
            </Box>
            <Typography variant="caption">{percent}%</Typography>
          </Box>
        )}
      </TableCell>
    </TableRow>
  );
};

const CostLines = ({ cost }: { cost: NonNullable<StoreUsageCost> }) => {
  const money = new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: cost.currency,
  });
  return (
    <Typography variant="body2" component="div">
      <div>
        Plan estimate:{' '}
        {cost.planMonthly === null
          ? 'unknown (the plan is no longer configured)'
          : `${money.format(cost.planMonthly)} a month`}
      </div>
      {cost.actualMonthly !== null && (
        <div>
          Actual use estimate: {money.format(cost.actualMonthly)} a month
        </div>
      )}
      <Typography variant="caption" color="textSecondary">
        Prices in {cost.currency}, for the CPU, memory and storage requested.
      </Typography>
    </Typography>
  );
};

/**
 * What the store's namespace uses against its ResourceQuota, as the API server reports it, and
 * what the store costs a month at the configured prices: for its plan and for its actual use.
 * Reloaded whenever the store changes.
 */
export const StoreQuotaCostCard = ({ store }: { store: Store }) => {
  const storesApi = useApi(storesApiRef);
  return (
    <LiveReadCard
      title="Quota and cost"
      read={() => storesApi.getStoreUsage(store.id)}
      deps={[storesApi, store.id, store.status, store.updatedAt]}
    >
      {value => (
        <>
          <Table size="small" aria-label="Quota use">
            <TableHead>
              <TableRow>
                <TableCell>Resource</TableCell>
                <TableCell>Used</TableCell>
                <TableCell>Quota</TableCell>
                <TableCell>Share used</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {value.resources.map(resource => (
                <ResourceRow key={resource.resource} resource={resource} />
              ))}
            </TableBody>
          </Table>
          {value.cost && <CostLines cost={value.cost} />}
          {value.note && (
            <Typography variant="body2" color="textSecondary" role="note">
              {value.note}
            </Typography>
          )}
        </>
      )}
    </LiveReadCard>
  );
};
