import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import useInterval from 'react-use/esm/useInterval';
import {
  Content,
  ContentHeader,
  Header,
  InfoCard,
  Page,
  Progress,
  ResponseErrorPanel,
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
  Table,
  TableColumn,
  WarningPanel,
} from '@backstage/core-components';
import { alertApiRef, useApi } from '@backstage/core-plugin-api';
import {
  Rollout,
  RolloutStatus,
  RolloutStore,
} from '@storeplane/plugin-stores-common';
import { storesApiRef } from '../../api';
import { relativeTime } from '../shared';

const POLL_INTERVAL_MS = 5000;

const RolloutStatusText = ({ status }: { status: RolloutStatus }) => {
  switch (status) {
    case 'Succeeded':
      return <StatusOK>{status}</StatusOK>;
    case 'Running':
      return <StatusRunning>{status}</StatusRunning>;
    case 'Halted':
      return <StatusError>{status}</StatusError>;
    case 'Aborted':
      return <StatusAborted>{status}</StatusAborted>;
    case 'Paused':
      return <StatusWarning>{status}</StatusWarning>;
    default:
      return <StatusPending>{status}</StatusPending>;
  }
};

const StoreResultText = ({ result }: { result: RolloutStore['result'] }) => {
  if (result === 'succeeded') return <StatusOK>succeeded</StatusOK>;
  if (result === 'failed') return <StatusError>rolled back</StatusError>;
  if (result === 'upgrading') return <StatusRunning>upgrading</StatusRunning>;
  if (result === 'skipped') return <StatusAborted>skipped</StatusAborted>;
  return <StatusPending>pending</StatusPending>;
};

const rolloutColumns: TableColumn<Rollout>[] = [
  { title: 'Rollout', field: 'id', highlight: true },
  {
    title: 'Status',
    field: 'status',
    render: rollout => <RolloutStatusText status={rollout.status} />,
  },
  { title: 'Chart', field: 'targetChartVersion' },
  {
    title: 'Wave',
    render: rollout => `${rollout.currentWave} of ${rollout.waveCount}`,
  },
  { title: 'Started by', field: 'createdBy' },
  {
    title: 'Age',
    field: 'createdAt',
    render: rollout => relativeTime(rollout.createdAt),
  },
];

const storeColumns: TableColumn<RolloutStore>[] = [
  { title: 'Wave', field: 'wave' },
  { title: 'Store', field: 'storeId', highlight: true },
  { title: 'From chart', render: s => s.fromChartVersion ?? '—' },
  {
    title: 'Result',
    field: 'result',
    render: s => <StoreResultText result={s.result} />,
  },
  { title: 'Reason', render: s => s.reason ?? '' },
];

/** What each command may follow, as the API enforces it (409 otherwise). */
const COMMANDS: Array<{
  command: 'pause' | 'resume' | 'abort';
  label: string;
  from: RolloutStatus[];
}> = [
  { command: 'pause', label: 'Pause', from: ['Pending', 'Running'] },
  { command: 'resume', label: 'Resume', from: ['Paused', 'Halted'] },
  {
    command: 'abort',
    label: 'Abort',
    from: ['Pending', 'Running', 'Paused', 'Halted'],
  },
];

type RolloutSetting = 'waveSize' | 'pauseSeconds' | 'maxFailures';

const ROLLOUT_SETTINGS: Array<{
  setting: RolloutSetting;
  id: string;
  label: string;
}> = [
  { setting: 'waveSize', id: 'rollout-wave-size', label: 'Wave size' },
  {
    setting: 'pauseSeconds',
    id: 'rollout-pause-seconds',
    label: 'Pause between waves (s)',
  },
  {
    setting: 'maxFailures',
    id: 'rollout-max-failures',
    label: 'Halt after failures',
  },
];

const StartRolloutDialog = (props: {
  open: boolean;
  onClose: () => void;
  onStarted: (rollout: Rollout) => void;
}) => {
  const storesApi = useApi(storesApiRef);
  const [values, setValues] = useState<Record<RolloutSetting, string>>({
    waveSize: '',
    pauseSeconds: '',
    maxFailures: '',
  });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const number = (value: string) => (value === '' ? undefined : Number(value));
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      props.onStarted(
        await storesApi.createRollout({
          waveSize: number(values.waveSize),
          pauseSeconds: number(values.pauseSeconds),
          maxFailures: number(values.maxFailures),
        }),
      );
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={props.open} onClose={props.onClose}>
      <DialogTitle>Start a fleet rollout</DialogTitle>
      <DialogContent>
        <DialogContentText>
          Upgrades every store that is not on the chart version this backend
          ships: the oldest store first as a canary, then in waves. A store that
          fails its health gates is rolled back; the rollout halts after the set
          number of failures. Leave a field empty for the configured default.
        </DialogContentText>
        <Box display="flex" gridGap={16}>
          {ROLLOUT_SETTINGS.map(({ setting, id, label }) => (
            <TextField
              key={setting}
              id={id}
              label={label}
              type="number"
              value={values[setting]}
              onChange={e =>
                setValues({ ...values, [setting]: e.target.value })
              }
            />
          ))}
        </Box>
        {error && (
          <Typography color="error" role="alert">
            {error}
          </Typography>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose}>Cancel</Button>
        <Button
          color="primary"
          variant="contained"
          disabled={busy}
          onClick={start}
        >
          Start rollout
        </Button>
      </DialogActions>
    </Dialog>
  );
};

const RolloutDetailsCard = (props: {
  rolloutId: string;
  onChanged: () => void;
}) => {
  const storesApi = useApi(storesApiRef);
  const alertApi = useApi(alertApiRef);
  const [confirmAbort, setConfirmAbort] = useState(false);
  const { value, loading, error, retry } = useAsyncRetry(
    () => storesApi.getRollout(props.rolloutId),
    [storesApi, props.rolloutId],
  );
  useInterval(retry, POLL_INTERVAL_MS);
  if (error) return <ResponseErrorPanel error={error} />;
  if (!value) return loading ? <Progress /> : null;
  const { rollout, stores, events } = value;
  const run = async (command: 'pause' | 'resume' | 'abort') => {
    try {
      await storesApi.commandRollout(rollout.id, command);
      retry();
      props.onChanged();
    } catch (e) {
      alertApi.post({ message: (e as Error).message, severity: 'error' });
    }
  };
  return (
    <InfoCard
      title={`Rollout ${rollout.id}`}
      subheader={`Chart ${rollout.targetChartVersion}, waves of ${rollout.waveSize} after a canary, ${rollout.pauseSeconds} s apart, halts after ${rollout.maxFailures} failure(s)`}
    >
      <Box display="flex" alignItems="center" gridGap={8} mb={2}>
        <RolloutStatusText status={rollout.status} />
        <Typography variant="body2">
          wave {rollout.currentWave} of {rollout.waveCount}
        </Typography>
        <Box flexGrow={1} />
        {COMMANDS.filter(c => c.from.includes(rollout.status)).map(c => (
          <Button
            key={c.command}
            variant="outlined"
            color={c.command === 'abort' ? 'secondary' : 'default'}
            onClick={() =>
              c.command === 'abort' ? setConfirmAbort(true) : run(c.command)
            }
          >
            {c.label}
          </Button>
        ))}
      </Box>
      {rollout.haltReason && (
        <WarningPanel severity="error" title="Halted" defaultExpanded>
          {rollout.haltReason}
        </WarningPanel>
      )}
      <Table
        title="Stores"
        options={{ search: false, paging: false, padding: 'dense' }}
        columns={storeColumns}
        data={stores}
      />
      <Box mt={2}>
        <Typography variant="h6">Events</Typography>
        {events.map(event => (
          <Typography key={event.id} variant="body2">
            {relativeTime(event.createdAt)} · {event.type}: {event.message}
            {event.actor ? ` (${event.actor})` : ''}
          </Typography>
        ))}
      </Box>
      <Dialog open={confirmAbort} onClose={() => setConfirmAbort(false)}>
        <DialogTitle>Abort rollout {rollout.id}?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            No further wave starts, and an aborted rollout cannot be resumed.
            Stores upgrading now finish their upgrade or roll back.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirmAbort(false)}>Cancel</Button>
          <Button
            color="secondary"
            variant="contained"
            onClick={() => {
              setConfirmAbort(false);
              run('abort');
            }}
          >
            Abort rollout
          </Button>
        </DialogActions>
      </Dialog>
    </InfoCard>
  );
};

/** Fleet rollouts for Storeplane administrators: start one, follow its waves, steer it. */
export const RolloutsPage = () => {
  const storesApi = useApi(storesApiRef);
  const [selected, setSelected] = useState<string>();
  const [starting, setStarting] = useState(false);
  const { value, loading, error, retry } = useAsyncRetry(
    () => storesApi.listRollouts(),
    [storesApi],
  );
  useInterval(retry, POLL_INTERVAL_MS);
  const shown = selected ?? value?.items[0]?.id;
  return (
    <Page themeId="tool">
      <Header
        title="Fleet rollouts"
        subtitle="Move every store to the chart version this backend ships, in waves with health gates"
      />
      <Content>
        <ContentHeader title="">
          <Button
            variant="contained"
            color="primary"
            onClick={() => setStarting(true)}
          >
            Start rollout
          </Button>
        </ContentHeader>
        {error ? (
          <ResponseErrorPanel error={error} />
        ) : (
          <Table
            title="Rollouts"
            isLoading={loading && !value}
            options={{ search: false, paging: false }}
            columns={rolloutColumns}
            data={value?.items ?? []}
            onRowClick={(_event, rollout) => setSelected(rollout?.id)}
          />
        )}
        {shown && (
          <Box mt={3}>
            <RolloutDetailsCard rolloutId={shown} onChanged={retry} />
          </Box>
        )}
        <StartRolloutDialog
          open={starting}
          onClose={() => setStarting(false)}
          onStarted={rollout => {
            setStarting(false);
            setSelected(rollout.id);
            retry();
          }}
        />
      </Content>
    </Page>
  );
};
